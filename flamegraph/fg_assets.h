/* SPDX-License-Identifier: MIT */
/*
 * Inside the flame graph library: the style sheet and script every SVG
 * embeds (assets.c). The script reads its settings from the data-
 * attributes of <g id="frames"> and each frame's structure
 * <g class="f" data-x data-w><title/><rect/><text/></g>, as svg.c writes
 * them; neither holds "]]>", so both go into CDATA sections as they are.
 */
#ifndef PYEBPF_FG_ASSETS_H
#define PYEBPF_FG_ASSETS_H

extern const char fg_style[];
extern const char fg_script[];

#endif /* PYEBPF_FG_ASSETS_H */
