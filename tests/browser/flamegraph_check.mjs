#!/usr/bin/env node
// SPDX-License-Identifier: MIT
/*
 * Opens a pyebpf flame graph SVG in headless Chromium (Debian's, driven by
 * playwright-core) and checks that it works for a user:
 *
 *   node flamegraph_check.mjs SVG_FILE SCREENSHOT.png [--click NAME]
 *        [--search REGEX --expect-matches N [--expect-matched PCT]]
 *
 *   - the document loads without script errors and draws frames; a
 *     screenshot of it goes to SCREENSHOT.png;
 *   - --click NAME: a real mouse click on the widest frame named NAME (or
 *     "NAME (file:line)", so a function name is enough) zooms: its rect
 *     spans the full width (within a pixel), every frame
 *     left visible is an ancestor or a descendant, "Reset Zoom" shows, and
 *     clicking it restores the original geometry (SCREENSHOT-zoom.png);
 *   - --search REGEX: the "Search" button, answered through the prompt
 *     dialog, highlights exactly the frames whose name matches (N of them
 *     with --expect-matches), drawn magenta, and "Matched: x%" equals the
 *     union of their spans over the total (PCT with --expect-matched);
 *     Escape clears it and Ctrl-F finds the same frames again
 *     (SCREENSHOT-search.png).
 *
 * Screenshots are of the viewport, sized to the SVG: Chromium cannot take
 * a full-page one of an SVG document (it times out).
 *
 * Exits 0, or 1 with one line "flamegraph_check: REASON" on stderr.
 */
import { existsSync } from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';

import { fail, parseArgs, runChecker, withChromium } from './checker.mjs';

const USAGE = 'usage: flamegraph_check.mjs SVG_FILE SCREENSHOT.png [--click NAME] ' +
	'[--search REGEX --expect-matches N [--expect-matched PCT]]';
const OPTIONS = { '--click': null, '--search': null, '--expect-matches': null, '--expect-matched': null };

function check(cond, msg) {
	if (!cond)
		fail(msg);
}

function readArgs(argv) {
	const a = parseArgs(argv, { options: OPTIONS, positional: 2, usage: USAGE });
	if (a.expectMatches !== null) {
		a.expectMatches = Number(a.expectMatches);
		check(Number.isInteger(a.expectMatches), USAGE);
	}
	[a.svg, a.screenshot] = a.positional;
	return a;
}

function sibling(file, suffix) {
	const ext = path.extname(file);
	return file.slice(0, file.length - ext.length) + suffix + ext;
}

/* Every frame as the page has it now. */
function readFrames(page) {
	return page.$$eval('#frames > g', (gs) => gs.map((g, i) => {
		const title = g.children[0].textContent;
		const rect = g.children[1];
		return {
			i,
			name: title.slice(0, title.lastIndexOf(' (')),
			x: Number(g.getAttribute('data-x')),
			w: Number(g.getAttribute('data-w')),
			y: Number(rect.getAttribute('y')),
			rx: rect.getAttribute('x'),
			rw: rect.getAttribute('width'),
			hidden: getComputedStyle(g).display === 'none',
			match: g.classList.contains('match'),
			fill: getComputedStyle(rect).fill,
		};
	}));
}

async function settings(page) {
	return page.$eval('#frames', (f) => ({
		total: Number(f.dataset.total),
		width: Number(f.dataset.width),
		xpad: Number(f.dataset.xpad),
	}));
}

async function checkZoom(page, a, s, before) {
	const named = before.filter((f) => f.name === a.click || f.name.startsWith(`${a.click} (`));
	check(named.length, `no frame named '${a.click}'`);
	const z = named.reduce((best, f) => (f.w > best.w ? f : best));
	const box = await page.locator('#frames > g').nth(z.i).locator('rect').boundingBox();
	check(box && box.width >= 1, `frame '${a.click}' is too narrow to click`);
	await page.mouse.click(box.x + box.width / 2, box.y + box.height / 2);

	const full = s.width - 2 * s.xpad;
	const after = await readFrames(page);
	const zw = Number(after[z.i].rw);
	check(Math.abs(zw - full) <= 1,
		`after a click on '${a.click}' its width is ${zw}, not the full ${full}`);
	check(Math.abs(Number(after[z.i].rx) - s.xpad) <= 1,
		`after a click on '${a.click}' it starts at x ${after[z.i].rx}, not ${s.xpad}`);
	for (const f of after) {
		if (f.hidden)
			continue;
		const inside = f.x >= z.x && f.x + f.w <= z.x + z.w;
		const around = f.x <= z.x && f.x + f.w >= z.x + z.w;
		check(inside || around,
			`after zooming to '${a.click}', unrelated frame '${f.name}' is still shown`);
		const l = Number(f.rx), r = l + Number(f.rw);
		check(l >= s.xpad - 1 && r <= s.width - s.xpad + 1,
			`after zooming, frame '${f.name}' is outside the graph (${l}..${r})`);
	}
	check(await page.locator('#unzoom').isVisible(), '"Reset Zoom" is not shown after a zoom');
	await page.screenshot({ path: sibling(a.screenshot, '-zoom') });

	await page.locator('#unzoom').click();
	const reset = await readFrames(page);
	for (const f of reset) {
		const b = before[f.i];
		check(!f.hidden && f.rx === b.rx && f.rw === b.rw,
			`"Reset Zoom" did not restore frame '${f.name}' (x ${f.rx} width ${f.rw}, ` +
			`was ${b.rx} ${b.rw})`);
	}
	check(!(await page.locator('#unzoom').isVisible()), '"Reset Zoom" still shown after reset');
	return `clicked '${a.click}': width ${zw} of ${full}`;
}

/* The share the script should show: the union of the matches' spans. */
function expectedShare(frames, total) {
	const hits = frames.filter((f) => f.match).sort((p, q) => p.x - q.x || q.w - p.w);
	let sum = 0, end = -1;
	for (const h of hits) {
		if (h.x + h.w > end) {
			sum += h.x + h.w - Math.max(h.x, end);
			end = h.x + h.w;
		}
	}
	return (total ? (100 * sum) / total : 0).toFixed(2);
}

async function searchOnce(page, a, how) {
	page.once('dialog', (d) => d.accept(a.search));
	if (how === 'button')
		await page.locator('#search').click();
	else
		await page.keyboard.press('Control+f');
	await page.waitForFunction(() =>
		document.getElementById('matched').textContent.startsWith('Matched:'));
	return readFrames(page);
}

async function checkSearch(page, a, s) {
	const re = new RegExp(a.search);
	const frames = await searchOnce(page, a, 'button');
	const hits = frames.filter((f) => f.match);
	for (const f of frames)
		check(f.match === re.test(f.name),
			`search '${a.search}': frame '${f.name}' is ${f.match ? '' : 'not '}highlighted`);
	if (a.expectMatches !== null)
		check(hits.length === a.expectMatches,
			`search '${a.search}' highlighted ${hits.length} frames, expected ${a.expectMatches}`);
	for (const f of hits)
		check(f.fill === 'rgb(230, 0, 230)', `matched frame '${f.name}' is drawn ${f.fill}`);
	const text = await page.locator('#matched').textContent();
	const want = `Matched: ${a.expectMatched ?? expectedShare(frames, s.total)}%`;
	check(text === want, `search '${a.search}' shows '${text}', expected '${want}'`);
	check(await page.locator('#search').textContent() === 'Reset Search',
		'the search button does not offer "Reset Search"');
	await page.screenshot({ path: sibling(a.screenshot, '-search') });

	await page.keyboard.press('Escape');
	const cleared = await readFrames(page);
	check(!cleared.some((f) => f.match), 'Escape did not clear the search');
	const again = await searchOnce(page, a, 'keyboard');
	check(again.filter((f) => f.match).length === hits.length,
		'Ctrl-F found other frames than the Search button');
	return `search '${a.search}': ${hits.length} frames, ${text}`;
}

async function run(a) {
	check(existsSync(a.svg), `no such file '${a.svg}'`);
	await withChromium(async (page) => {
		page.setDefaultTimeout(20000);
		const errors = [];
		page.on('pageerror', (e) => errors.push(e.message));

		await page.goto(pathToFileURL(path.resolve(a.svg)).href);
		const s = await settings(page);
		const height = await page.evaluate(() => document.documentElement.height.baseVal.value);
		await page.setViewportSize({ width: Math.max(s.width, 100), height: Math.ceil(height) });
		const before = await readFrames(page);
		check(before.length > 0, 'the graph has no frames');
		await page.screenshot({ path: a.screenshot });

		const done = [`${before.length} frames`];
		if (a.click !== null)
			done.push(await checkZoom(page, a, s, before));
		if (a.search !== null)
			done.push(await checkSearch(page, a, s));
		check(!errors.length, `script error: ${errors[0]}`);
		console.log(`flamegraph_check: ok: ${done.join('; ')}; screenshot ${a.screenshot}`);
	});
}

await runChecker('flamegraph_check', (argv) => run(readArgs(argv)));
