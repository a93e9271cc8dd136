// SPDX-License-Identifier: MIT
/*
 * The SVG writer.
 *
 * Layout, top to bottom (px): the title (baseline 24) with "Reset Zoom" at
 * the left and "Search" at the right, the subtitle (baseline 44) if any,
 * the frames in rows of 16 (the root at the bottom, or at the top when
 * inverted), the details line (hover) with "Matched: x%" at the right, and
 * for the python colours a legend of the kinds drawn. The frames span the
 * width less 10 px each side.
 *
 * Every frame is one element, in drawing order (fg_walker__walk):
 *
 *   <g class="f" data-x="START" data-w="WEIGHT"><title>NAME (INFO)</title>
 *   <rect x y width height fill/><text x y>NAME AS IT FITS</text></g>
 *
 * START and WEIGHT are in weight units (what the script zooms with), INFO
 * is "1,234 samples, 12.34%" or "1.23 s, 12.34%", with ", 40.00% off-CPU"
 * added when a frame has both on- and off-CPU weight. Positions are
 * computed in integers (tenths of a pixel), so output is the same on every
 * machine.
 */
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "fg_assets.h"
#include "fg_palette.h"
#include "fg_tree.h"
#include "fg_xml.h"

#define XPAD 10
#define FRAME_H 16
#define TITLE_Y 24
#define SUBTITLE_Y 44
#define CHAR_W_X100 708 /* a 12 px Verdana character is about 7.08 px wide */
#define LEGEND_CHAR_W 7 /* 11 px, rounded up */
#define MIN_WIDTH 100
#define MAX_WIDTH 100000

void flamegraph_options_init(struct flamegraph_options *o)
{
	*o = (struct flamegraph_options){
		.width = 1200,
		.minwidth = 0.1,
		.colors = FLAMEGRAPH_COLORS_PYTHON,
	};
}

struct svg {
	const struct flamegraph *fg;
	const struct flamegraph_options *o;
	struct fg_out *out;
	uint64_t total;
	double usable;	   /* px the frames span */
	uint64_t usable10; /* the same in tenths */
	unsigned int levels, top;
	unsigned int warm_kinds, cool_kinds; /* a bit per kind drawn */
};

static bool is_cool(const struct fg_node *n)
{
	return n->off_cpu > n->total - n->off_cpu;
}

/* Frames narrower than minwidth px are not drawn (the root always is). */
static bool keep(const struct fg_node *n, void *ctx)
{
	const struct svg *s = ctx;

	return !n->depth || (double)n->total * s->usable >= s->o->minwidth * (double)s->total;
}

static int measure(uint32_t id, uint64_t start, void *ctx)
{
	struct svg *s = ctx;
	const struct fg_node *n = &s->fg->nodes[id];

	if (n->depth + 1 > s->levels)
		s->levels = n->depth + 1;
	if (is_cool(n))
		s->cool_kinds |= 1u << n->kind;
	else
		s->warm_kinds |= 1u << n->kind;
	return 0;
}

/* round(a * b / c) for c > 0, in tenths of a pixel and such */
static uint64_t muldiv(uint64_t a, uint64_t b, uint64_t c)
{
	return ((unsigned __int128)a * b * 2 + c) / ((unsigned __int128)c * 2);
}

/* The x of a weight offset, in tenths of a pixel. */
static int64_t x10(const struct svg *s, uint64_t offset)
{
	return XPAD * 10 + muldiv(offset, s->usable10, s->total);
}

static unsigned int row_y(const struct svg *s, unsigned int depth)
{
	return s->top + (s->o->inverted ? depth : s->levels - 1 - depth) * FRAME_H;
}

/* "12.34%" of v in total */
static void out_percent(struct fg_out *out, uint64_t v, uint64_t total)
{
	uint64_t p = muldiv(v, 10000, total);

	fg_out_u64(out, p / 100);
	fg_out_char(out, '.');
	fg_out_char(out, '0' + p / 10 % 10);
	fg_out_char(out, '0' + p % 10);
	fg_out_char(out, '%');
}

/* "1.23 s", "45.60 ms", "7.00 µs" or "512 ns" */
static void out_duration(struct fg_out *out, uint64_t ns)
{
	static const struct {
		uint64_t ns;
		const char *unit;
	} units[] = {{1000000000, " s"}, {1000000, " ms"}, {1000, " \xc2\xb5s"}};

	for (size_t i = 0; i < sizeof(units) / sizeof(units[0]); i++) {
		if (ns >= units[i].ns) {
			uint64_t h = muldiv(ns, 100, units[i].ns);

			fg_out_u64(out, h / 100);
			fg_out_char(out, '.');
			fg_out_char(out, '0' + h / 10 % 10);
			fg_out_char(out, '0' + h % 10);
			fg_out_str(out, units[i].unit);
			return;
		}
	}
	fg_out_u64(out, ns);
	fg_out_str(out, " ns");
}

/* "1,234 samples, 12.34%[, 40.00% off-CPU]" */
static void out_info(const struct svg *s, const struct fg_node *n)
{
	const char *countname = s->o->countname ? s->o->countname : "samples";

	if (s->o->weights_ns) {
		out_duration(s->out, n->total);
	} else {
		fg_out_grouped(s->out, n->total);
		fg_out_char(s->out, ' ');
		if (n->total == 1 && !strcmp(countname, "samples"))
			fg_out_str(s->out, "sample");
		else
			fg_out_escaped(s->out, countname, SIZE_MAX);
	}
	fg_out_str(s->out, ", ");
	out_percent(s->out, n->total, s->total);
	if (n->off_cpu && n->off_cpu < n->total) {
		fg_out_str(s->out, ", ");
		out_percent(s->out, n->off_cpu, n->total);
		fg_out_str(s->out, " off-CPU");
	}
}

static void out_color(struct fg_out *out, struct fg_rgb c)
{
	static const char hex[] = "0123456789abcdef";
	char buf[7] = {'#',	      hex[c.r >> 4], hex[c.r & 15], hex[c.g >> 4],
		       hex[c.g & 15], hex[c.b >> 4], hex[c.b & 15]};

	fg_out_mem(out, buf, sizeof(buf));
}

/* The name as it fits a frame w10 tenths of a pixel wide: whole, cut with
 * "..", or nothing (the script's fit() does the same after a zoom). */
static void out_fitted(struct fg_out *out, const char *name, int64_t w10)
{
	size_t avail = w10 > 60 ? (size_t)(w10 - 60) * 10 / CHAR_W_X100 : 0;

	if (avail < 3)
		return;
	if (fg_utf8_count(name) <= avail) {
		fg_out_escaped(out, name, SIZE_MAX);
	} else {
		fg_out_escaped(out, name, avail - 2);
		fg_out_str(out, "..");
	}
}

static int draw(uint32_t id, uint64_t start, void *ctx)
{
	struct svg *s = ctx;
	struct fg_out *out = s->out;
	const struct fg_node *n = &s->fg->nodes[id];
	const char *name = s->fg->names[n->name].s;
	int64_t x = x10(s, start), w = x10(s, start + n->total) - x;
	unsigned int y = row_y(s, n->depth);

	fg_out_str(out, "<g class=\"f\" data-x=\"");
	fg_out_u64(out, start);
	fg_out_str(out, "\" data-w=\"");
	fg_out_u64(out, n->total);
	fg_out_str(out, "\"><title>");
	fg_out_escaped(out, name, SIZE_MAX);
	fg_out_str(out, " (");
	out_info(s, n);
	fg_out_str(out, ")</title><rect x=\"");
	fg_out_tenths(out, x);
	fg_out_str(out, "\" y=\"");
	fg_out_u64(out, y);
	fg_out_str(out, "\" width=\"");
	fg_out_tenths(out, w);
	fg_out_str(out, "\" height=\"");
	fg_out_u64(out, FRAME_H - 1);
	fg_out_str(out, "\" fill=\"");
	out_color(out, fg_palette_frame(s->o->colors, n->kind, is_cool(n), fg_name_hash32(name)));
	fg_out_str(out, "\"/><text x=\"");
	fg_out_tenths(out, x + 30);
	fg_out_str(out, "\" y=\"");
	fg_out_u64(out, y + 12);
	fg_out_str(out, "\">");
	out_fitted(out, name, w);
	fg_out_str(out, "</text></g>\n");
	return out->err;
}

/* <text id="ID" x="X/10" y="Y"[ class="CLASS"]>TEXT</text> */
static void out_text(struct fg_out *out, const char *id, int64_t x10, unsigned int y,
		     const char *cls, const char *text)
{
	fg_out_str(out, "<text id=\"");
	fg_out_str(out, id);
	fg_out_str(out, "\"");
	if (cls) {
		fg_out_str(out, " class=\"");
		fg_out_str(out, cls);
		fg_out_str(out, "\"");
	}
	fg_out_str(out, " x=\"");
	fg_out_tenths(out, x10);
	fg_out_str(out, "\" y=\"");
	fg_out_u64(out, y);
	fg_out_str(out, "\">");
	fg_out_escaped(out, text, SIZE_MAX);
	fg_out_str(out, "</text>\n");
}

/* A swatch per warm and cool family drawn, and the kind's name; then the
 * rule, if anything is cool. */
static void out_legend(const struct svg *s, unsigned int y)
{
	struct fg_out *out = s->out;
	unsigned int x = XPAD;

	fg_out_str(out, "<g id=\"legend\">\n");
	for (unsigned int k = 0; k < FLAMEGRAPH_KINDS; k++) {
		const char *label = fg_palette_legend_label(k);

		if (k == FLAMEGRAPH_ROOT || !((s->warm_kinds | s->cool_kinds) & 1u << k))
			continue;
		for (int c = 0; c < 2; c++) {
			if (!((c ? s->cool_kinds : s->warm_kinds) & 1u << k))
				continue;
			fg_out_str(out, "<rect x=\"");
			fg_out_u64(out, x);
			fg_out_str(out, "\" y=\"");
			fg_out_u64(out, y - 9);
			fg_out_str(out, "\" width=\"10\" height=\"10\" fill=\"");
			out_color(out, fg_palette_swatch(k, c));
			fg_out_str(out, "\"><title>");
			fg_out_str(out, label);
			fg_out_str(out, c ? ", mostly off-CPU" : ", mostly on-CPU");
			fg_out_str(out, "</title></rect>\n");
			x += 12;
		}
		fg_out_str(out, "<text x=\"");
		fg_out_u64(out, x + 2);
		fg_out_str(out, "\" y=\"");
		fg_out_u64(out, y);
		fg_out_str(out, "\">");
		fg_out_str(out, label);
		fg_out_str(out, "</text>\n");
		x += 2 + strlen(label) * LEGEND_CHAR_W + 14;
	}
	if (s->cool_kinds) {
		fg_out_str(out, "<text x=\"");
		fg_out_u64(out, x + 2);
		fg_out_str(out, "\" y=\"");
		fg_out_u64(out, y);
		fg_out_str(out, "\">warm: mostly on-CPU, cool: mostly off-CPU</text>\n");
	}
	fg_out_str(out, "</g>\n");
}

static void out_document(struct svg *s, struct fg_walker *w)
{
	const struct flamegraph_options *o = s->o;
	struct fg_out *out = s->out;
	bool sub = o->subtitle && *o->subtitle;
	bool legend = o->colors == FLAMEGRAPH_COLORS_PYTHON && s->total;
	const char *title = o->title ? o->title : o->inverted ? "Icicle Graph" : "Flame Graph";
	unsigned int width = o->width;
	unsigned int details_y = s->top + s->levels * FRAME_H + 20;
	unsigned int height = (legend ? details_y + 20 : details_y) + 10;

	fg_out_str(out, "<?xml version=\"1.0\" encoding=\"UTF-8\" standalone=\"no\"?>\n<svg "
			"version=\"1.1\" width=\"");
	fg_out_u64(out, width);
	fg_out_str(out, "\" height=\"");
	fg_out_u64(out, height);
	fg_out_str(out, "\" viewBox=\"0 0 ");
	fg_out_u64(out, width);
	fg_out_char(out, ' ');
	fg_out_u64(out, height);
	fg_out_str(out, "\" xmlns=\"http://www.w3.org/2000/svg\">\n"
			"<!-- Flame graph: click a frame to zoom, \"Search\" (Ctrl-F) highlights "
			"frames matching a regular expression, hover for details. -->\n"
			"<defs><linearGradient id=\"background\" x1=\"0\" y1=\"0\" x2=\"0\" "
			"y2=\"1\"><stop offset=\"5%\" stop-color=\"#f2f2f2\"/><stop offset=\"95%\" "
			"stop-color=\"#eaeadc\"/></linearGradient></defs>\n"
			"<style type=\"text/css\"><![CDATA[\n");
	fg_out_str(out, fg_style);
	fg_out_str(out, "]]></style>\n<rect x=\"0\" y=\"0\" width=\"");
	fg_out_u64(out, width);
	fg_out_str(out, "\" height=\"");
	fg_out_u64(out, height);
	fg_out_str(out, "\" fill=\"url(#background)\"/>\n");
	out_text(out, "title", width * 5, TITLE_Y, NULL, title);
	if (sub)
		out_text(out, "subtitle", width * 5, SUBTITLE_Y, NULL, o->subtitle);
	out_text(out, "unzoom", XPAD * 10, TITLE_Y, "hide", "Reset Zoom");
	out_text(out, "search", (width - XPAD) * 10, TITLE_Y, NULL, "Search");
	out_text(out, "details", XPAD * 10, details_y, NULL, " ");
	out_text(out, "matched", (width - XPAD) * 10, details_y, NULL, " ");

	fg_out_str(out, "<g id=\"frames\" data-total=\"");
	fg_out_u64(out, s->total);
	fg_out_str(out, "\" data-width=\"");
	fg_out_u64(out, width);
	fg_out_str(out, "\" data-xpad=\"");
	fg_out_u64(out, XPAD);
	fg_out_str(out, "\" data-top=\"");
	fg_out_u64(out, s->top);
	fg_out_str(out, "\" data-fh=\"");
	fg_out_u64(out, FRAME_H);
	fg_out_str(out, "\" data-levels=\"");
	fg_out_u64(out, s->levels);
	fg_out_str(out, "\" data-inverted=\"");
	fg_out_char(out, o->inverted ? '1' : '0');
	fg_out_str(out, "\">\n");
	if (s->total && !out->err) {
		int err = fg_walker__walk(w, keep, draw, s);

		if (err && !out->err)
			out->err = err;
	}
	fg_out_str(out, "</g>\n");
	if (!s->total) {
		fg_out_str(out, "<text x=\"");
		fg_out_tenths(out, width * 5);
		fg_out_str(out, "\" y=\"");
		fg_out_u64(out, s->top + 12);
		fg_out_str(out, "\" text-anchor=\"middle\">No samples</text>\n");
	}
	if (legend)
		out_legend(s, details_y + 20);
	fg_out_str(out, "<script type=\"text/ecmascript\"><![CDATA[\n");
	fg_out_str(out, fg_script);
	fg_out_str(out, "]]></script>\n</svg>\n");
}

int flamegraph__write_svg(const struct flamegraph *fg, const struct flamegraph_options *o,
			  FILE *out)
{
	struct svg s = {.fg = fg, .o = o, .levels = 1};
	struct fg_walker *w = NULL;
	int err;

	if (!fg || !o || !out || o->width < MIN_WIDTH || o->width > MAX_WIDTH ||
	    !(o->minwidth >= 0) || isinf(o->minwidth) ||
	    !strcmp(flamegraph_colors_name(o->colors), "?"))
		return -EINVAL;
	s.total = fg->nodes[0].total;
	s.usable = o->width - 2 * XPAD;
	s.usable10 = (uint64_t)(o->width - 2 * XPAD) * 10;
	s.top = o->subtitle && *o->subtitle ? SUBTITLE_Y + 16 : TITLE_Y + 16;
	s.out = malloc(sizeof(*s.out));
	if (!s.out)
		return -ENOMEM;
	fg_out_init(s.out, out);
	if (s.total) {
		w = fg_walker__new(fg);
		err = w ? fg_walker__walk(w, keep, measure, &s) : -ENOMEM;
		if (err)
			goto out;
	}
	out_document(&s, w);
	err = fg_out_flush(s.out);
out:
	fg_walker__free(w);
	free(s.out);
	return err;
}
