/* SPDX-License-Identifier: MIT */
/*
 * Inside the flame graph library: frame colours. Every colour is a function
 * of the scheme, the frame's kind, whether it is mostly off-CPU, and a
 * stable hash of its name (fg_name_hash32()), never of anything random.
 */
#ifndef PYEBPF_FG_PALETTE_H
#define PYEBPF_FG_PALETTE_H

#include <stdbool.h>
#include <stdint.h>

#include "flamegraph.h"

struct fg_rgb {
	uint8_t r, g, b;
};

/* The fill of a frame. `cool`: more of its weight is off-CPU than on-CPU
 * (only the python scheme uses it, and the kind). */
struct fg_rgb fg_palette_frame(enum flamegraph_colors scheme, enum flamegraph_kind kind, bool cool,
			       uint32_t name_hash);

/* The python scheme's middle colour of a kind's family, for the legend. */
struct fg_rgb fg_palette_swatch(enum flamegraph_kind kind, bool cool);

/* What the legend calls a kind: "Python", "stdlib", "site-packages", ... */
const char *fg_palette_legend_label(enum flamegraph_kind kind);

#endif /* PYEBPF_FG_PALETTE_H */
