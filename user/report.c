// SPDX-License-Identifier: MIT
#include "report.h"

#include <errno.h>

#include "chrometrace_output.h"
#include "flamegraph_output.h"
#include "folded_output.h"
#include "pprof_output.h"
#include "speedscope_output.h"

int report_write(const struct report *r, enum output_format format, FILE *out)
{
	if (!r || !r->profile || !out)
		return -EINVAL;
	switch (format) {
	case FORMAT_RAW:
		return folded_output__write(r, out);
	case FORMAT_PPROF:
		return pprof_output__write(r, out);
	case FORMAT_SPEEDSCOPE:
		return speedscope_output__write(r, out);
	case FORMAT_CHROMETRACE:
		return chrometrace_output__write(r, out);
	case FORMAT_FLAMEGRAPH:
		return flamegraph_output__write(r, out);
	}
	return -EINVAL;
}
