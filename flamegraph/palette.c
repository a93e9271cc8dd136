// SPDX-License-Identifier: MIT
/*
 * Colour schemes.
 *
 * python (the default) tells two things apart at a glance:
 *
 *   - what the code is, by hue family: application Python orange, standard
 *     library yellow, site-packages red, native tan, kernel pink; off-CPU
 *     reasons ("[off-cpu:io] read") sea green, synthetic frames grey,
 *     thread and process roots pale;
 *   - where the time went, by temperature: a frame whose weight is mostly
 *     off-CPU (it came from stacks holding an off-CPU reason frame) takes
 *     the cool member of its family instead: Python blue, standard library
 *     aqua, site-packages lavender, native slate, kernel purple. Ties are
 *     warm. An on-CPU profile is all warm, an off-CPU one all cool.
 *
 * Within a family the hue and lightness vary with a hash of the name, so a
 * function has the same colour in every graph and neighbours differ.
 *
 * The other schemes ignore kinds and colour by name only, in the ranges
 * flamegraph.pl's users know: hot (red to yellow), mem (green), io (blue),
 * and plain red, green, blue, aqua, yellow, purple, orange.
 */
#include <errno.h>
#include <math.h>
#include <string.h>

#include "fg_palette.h"

static const char *const scheme_names[] = {
	[FLAMEGRAPH_COLORS_PYTHON] = "python", [FLAMEGRAPH_COLORS_HOT] = "hot",
	[FLAMEGRAPH_COLORS_MEM] = "mem",       [FLAMEGRAPH_COLORS_IO] = "io",
	[FLAMEGRAPH_COLORS_RED] = "red",       [FLAMEGRAPH_COLORS_GREEN] = "green",
	[FLAMEGRAPH_COLORS_BLUE] = "blue",     [FLAMEGRAPH_COLORS_AQUA] = "aqua",
	[FLAMEGRAPH_COLORS_YELLOW] = "yellow", [FLAMEGRAPH_COLORS_PURPLE] = "purple",
	[FLAMEGRAPH_COLORS_ORANGE] = "orange",
};
#define N_SCHEMES (sizeof(scheme_names) / sizeof(scheme_names[0]))

int flamegraph_colors_from_name(const char *name, enum flamegraph_colors *colors)
{
	if (!name || !colors)
		return -EINVAL;
	for (size_t i = 0; i < N_SCHEMES; i++) {
		if (!strcmp(name, scheme_names[i])) {
			*colors = i;
			return 0;
		}
	}
	return -EINVAL;
}

const char *flamegraph_colors_name(enum flamegraph_colors colors)
{
	return (unsigned int)colors < N_SCHEMES ? scheme_names[colors] : "?";
}

/* A hue family: hue from h to h + h_span degrees, saturation s percent,
 * lightness from l to l + l_span percent. */
struct family {
	short h, h_span;
	unsigned char s, l, l_span;
};

static const struct family warm[FLAMEGRAPH_KINDS] = {
	[FLAMEGRAPH_PYTHON] = {18, 18, 88, 56, 8},   /* orange */
	[FLAMEGRAPH_STDLIB] = {44, 12, 85, 50, 8},   /* yellow */
	[FLAMEGRAPH_LIBRARY] = {350, 16, 75, 60, 8}, /* red */
	[FLAMEGRAPH_NATIVE] = {25, 15, 30, 60, 10},  /* tan */
	[FLAMEGRAPH_KERNEL] = {322, 14, 60, 64, 8},  /* pink */
	[FLAMEGRAPH_OFF_CPU] = {150, 15, 42, 55, 8}, /* sea green, as cool */
	[FLAMEGRAPH_SYNTHETIC] = {0, 0, 0, 72, 8},   /* grey */
	[FLAMEGRAPH_ROOT] = {40, 10, 14, 80, 6},     /* pale warm grey */
};

static const struct family cool[FLAMEGRAPH_KINDS] = {
	[FLAMEGRAPH_PYTHON] = {205, 17, 72, 62, 8},  /* blue */
	[FLAMEGRAPH_STDLIB] = {178, 14, 58, 50, 8},  /* aqua */
	[FLAMEGRAPH_LIBRARY] = {250, 15, 60, 70, 6}, /* lavender */
	[FLAMEGRAPH_NATIVE] = {205, 15, 16, 60, 10}, /* slate */
	[FLAMEGRAPH_KERNEL] = {280, 15, 45, 62, 8},  /* purple */
	[FLAMEGRAPH_OFF_CPU] = {150, 15, 42, 55, 8}, /* sea green */
	[FLAMEGRAPH_SYNTHETIC] = {0, 0, 0, 72, 8},   /* grey */
	[FLAMEGRAPH_ROOT] = {210, 10, 14, 80, 6},    /* pale cool grey */
};

static unsigned char channel(double v)
{
	long c = lround(v * 255.0);

	return c < 0 ? 0 : c > 255 ? 255 : c;
}

/* HSL to RGB: h in degrees, s and l in [0, 1]. Only exact IEEE operations
 * (and lround), so every machine gets the same bytes. */
static struct fg_rgb hsl(double h, double s, double l)
{
	double c = (1.0 - fabs(2.0 * l - 1.0)) * s;
	double hp = fmod(h, 360.0) / 60.0;
	double x = c * (1.0 - fabs(fmod(hp, 2.0) - 1.0));
	double m = l - c / 2.0, r = 0, g = 0, b = 0;

	switch ((int)hp) {
	case 0:
		r = c, g = x;
		break;
	case 1:
		r = x, g = c;
		break;
	case 2:
		g = c, b = x;
		break;
	case 3:
		g = x, b = c;
		break;
	case 4:
		r = x, b = c;
		break;
	default:
		r = c, b = x;
		break;
	}
	return (struct fg_rgb){channel(r + m), channel(g + m), channel(b + m)};
}

/* v1, v2 in [0, 1]: where in the family the colour falls. */
static struct fg_rgb family_color(const struct family *f, double v1, double v2)
{
	return hsl(f->h + f->h_span * v1, f->s / 100.0, (f->l + f->l_span * v2) / 100.0);
}

/* A name-only scheme: each channel is lo + span * v[which]. */
struct rgb_range {
	unsigned char lo[3], span[3], which[3];
};

static const struct rgb_range ranges[] = {
	[FLAMEGRAPH_COLORS_HOT] = {{205, 0, 0}, {50, 230, 55}, {2, 0, 1}},
	[FLAMEGRAPH_COLORS_MEM] = {{0, 190, 0}, {0, 50, 210}, {0, 1, 0}},
	[FLAMEGRAPH_COLORS_IO] = {{80, 80, 190}, {60, 60, 55}, {0, 0, 1}},
	[FLAMEGRAPH_COLORS_RED] = {{200, 50, 50}, {55, 80, 80}, {0, 0, 0}},
	[FLAMEGRAPH_COLORS_GREEN] = {{50, 200, 50}, {60, 55, 60}, {0, 0, 0}},
	[FLAMEGRAPH_COLORS_BLUE] = {{80, 80, 205}, {60, 60, 50}, {0, 0, 0}},
	[FLAMEGRAPH_COLORS_AQUA] = {{50, 165, 165}, {60, 55, 55}, {0, 0, 0}},
	[FLAMEGRAPH_COLORS_YELLOW] = {{175, 175, 50}, {55, 55, 20}, {0, 0, 0}},
	[FLAMEGRAPH_COLORS_PURPLE] = {{190, 80, 190}, {65, 60, 65}, {0, 0, 0}},
	[FLAMEGRAPH_COLORS_ORANGE] = {{190, 90, 0}, {65, 65, 0}, {0, 0, 0}},
};

struct fg_rgb fg_palette_frame(enum flamegraph_colors scheme, enum flamegraph_kind kind,
			       bool is_cool, uint32_t name_hash)
{
	if (scheme == FLAMEGRAPH_COLORS_PYTHON || (unsigned int)scheme >= N_SCHEMES) {
		const struct family *f;

		if ((unsigned int)kind >= FLAMEGRAPH_KINDS)
			kind = FLAMEGRAPH_NATIVE;
		f = is_cool ? &cool[kind] : &warm[kind];
		return family_color(f, (name_hash & 0xffff) / 65535.0, (name_hash >> 16) / 65535.0);
	} else {
		const struct rgb_range *r = &ranges[scheme];
		unsigned int v[3] = {name_hash & 0x3ff, (name_hash >> 10) & 0x3ff,
				     (name_hash >> 20) & 0x3ff};
		unsigned char c[3];

		for (int i = 0; i < 3; i++)
			c[i] = r->lo[i] + (r->span[i] * v[r->which[i]] + 511) / 1023;
		return (struct fg_rgb){c[0], c[1], c[2]};
	}
}

struct fg_rgb fg_palette_swatch(enum flamegraph_kind kind, bool is_cool)
{
	if ((unsigned int)kind >= FLAMEGRAPH_KINDS)
		kind = FLAMEGRAPH_NATIVE;
	return family_color(is_cool ? &cool[kind] : &warm[kind], 0.5, 0.5);
}

const char *fg_palette_legend_label(enum flamegraph_kind kind)
{
	static const char *const labels[FLAMEGRAPH_KINDS] = {
		[FLAMEGRAPH_PYTHON] = "Python",		[FLAMEGRAPH_STDLIB] = "stdlib",
		[FLAMEGRAPH_LIBRARY] = "site-packages", [FLAMEGRAPH_NATIVE] = "native",
		[FLAMEGRAPH_KERNEL] = "kernel",		[FLAMEGRAPH_OFF_CPU] = "off-CPU reason",
		[FLAMEGRAPH_SYNTHETIC] = "synthetic",	[FLAMEGRAPH_ROOT] = "thread / all",
	};

	return (unsigned int)kind < FLAMEGRAPH_KINDS ? labels[kind] : "?";
}
