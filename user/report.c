// SPDX-License-Identifier: MIT
#include "report.h"

#include <errno.h>

#include "folded_output.h"
#include "pprof_output.h"

int report_write(const struct report *r, enum output_format format, FILE *out)
{
	if (!r || !r->profile || !out)
		return -EINVAL;
	switch (format) {
	case FORMAT_RAW:
		return folded_output__write(r, out);
	case FORMAT_PPROF:
		return pprof_output__write(r, out);
	case FORMAT_FLAMEGRAPH:
	case FORMAT_SPEEDSCOPE:
	case FORMAT_CHROMETRACE:
		break;
	}
	return -ENOTSUP;
}
