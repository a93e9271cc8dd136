// SPDX-License-Identifier: MIT
#include "upload.h"

#include <stdlib.h>
#include <string.h>

void upload_clear(struct upload *u)
{
	if (!u)
		return;
	free(u->name);
	free(u->spy_name);
	free(u->profile_type);
	free(u->sample_type_config);
	free(u->pprof);
	memset(u, 0, sizeof(*u));
}
