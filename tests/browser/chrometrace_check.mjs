#!/usr/bin/env node
// SPDX-License-Identifier: MIT
//
// Checks a Chrome trace-event JSON file the way its consumers read it:
//   1. the trace-event format's rules (the "Trace Event Format" document):
//      the JSON Object Format {"traceEvents":[...]} or the JSON Array
//      Format; every event an object with ph, ts, pid, tid (pyebpf's
//      metadata events carry ts and tid too); complete events ("X") with
//      dur >= 0; B/E pairs balanced per thread and matching by name;
//      metadata events of known names, process_name and thread_name with
//      args.name; slices of one thread properly nested, as Perfetto and
//      chrome://tracing need to draw them as a flame chart (equal
//      timestamps are taken in file order, as those viewers do); a
//      process_name for every process and a thread_name for every thread
//      that has slices;
//   2. by loading it into a real consumer offline: speedscope's trace-event
//      importer (the npm package's page in headless Chromium), which must
//      import it without warnings, list one profile per thread under its
//      thread name, and show each --expect-name NAME in some thread's
//      sandwich table. (chrome://tracing is gone from current Chromium, and
//      Perfetto's UI and trace processor are not installable offline.)
//
// usage: node chrometrace_check.mjs FILE.json [--expect-name NAME]...
//                                   [--screenshot PNG] [--no-browser]
// Exits 0, or 1 with one line "chrometrace_check: FILE: reason" on stderr.
import {fail, parseArgs, readJSON, runChecker} from './checker.mjs';
import {withSpeedscope} from './speedscope_page.mjs';

const USAGE = 'usage: chrometrace_check.mjs FILE.json [--expect-name NAME]... [--screenshot PNG] [--no-browser]';
// the phases of the format; pyebpf writes X and M
const PHASES = new Set(['B', 'E', 'X', 'i', 'I', 'C', 'b', 'n', 'e', 'S', 'T', 'p', 'F', 's',
	't', 'f', 'P', 'N', 'O', 'D', 'M', 'V', 'v', 'R', 'c', '(', ')']);
const METADATA = new Set(['process_name', 'process_labels', 'process_sort_index',
	'process_uptime_seconds', 'thread_name', 'thread_sort_index', 'num_cpus']);

const OPTIONS = {'--expect-name': [], '--screenshot': null, '--no-browser': false};

const isNum = (v) => typeof v === 'number' && Number.isFinite(v);
const isObj = (v) => v !== null && typeof v === 'object' && !Array.isArray(v);

function checkEvent(e, i) {
	const at = `traceEvents[${i}]`;
	if (!isObj(e)) fail(`${at} is not an object`);
	if (typeof e.ph !== 'string' || !PHASES.has(e.ph)) fail(`${at}: unknown ph ${JSON.stringify(e.ph)}`);
	for (const k of ['ts', 'pid', 'tid'])
		if (!isNum(e[k])) fail(`${at}: "${k}" is ${JSON.stringify(e[k])}, want a number`);
	if (e.ts < 0) fail(`${at}: ts ${e.ts} < 0`);
	if (!Number.isInteger(e.pid) || !Number.isInteger(e.tid)) fail(`${at}: pid and tid must be integers`);
	if (e.ph !== 'E' && typeof e.name !== 'string') fail(`${at}: no name`);
	if ('args' in e && !isObj(e.args)) fail(`${at}: args is not an object`);
	if ('cat' in e && typeof e.cat !== 'string') fail(`${at}: cat is not a string`);
	if (e.ph === 'X' && !(isNum(e.dur) && e.dur >= 0)) fail(`${at}: complete event without a dur >= 0`);
	if (e.ph === 'M') {
		if (!METADATA.has(e.name)) fail(`${at}: unknown metadata event ${JSON.stringify(e.name)}`);
		if (/_name$/.test(e.name) && !(isObj(e.args) && typeof e.args.name === 'string' && e.args.name))
			fail(`${at}: ${e.name} without args.name`);
	}
}

// B/E balance and nesting of one thread's slices, in time order (a stable
// sort: equal timestamps in file order).
function checkThread(key, slices) {
	slices.sort((a, b) => a.e.ts - b.e.ts || a.i - b.i);
	const open = []; // {name, end (Infinity for B), i}
	for (const {e, i} of slices) {
		const at = `traceEvents[${i}] (${key}, ts ${e.ts})`;
		// complete events that ended by now are closed
		while (open.length && open[open.length - 1].end <= e.ts && open[open.length - 1].end !== Infinity)
			open.pop();
		if (e.ph === 'E') {
			// X children of the B being ended are done
			while (open.length && open[open.length - 1].end !== Infinity) {
				const top = open[open.length - 1];
				if (top.end > e.ts) fail(`${at}: E ends a B while "${top.name}" inside it still runs`);
				open.pop();
			}
			const b = open.pop();
			if (!b) fail(`${at}: E without a B`);
			if (e.name !== undefined && e.name !== b.name)
				fail(`${at}: E "${e.name}" ends B "${b.name}"`);
			continue;
		}
		const end = e.ph === 'X' ? e.ts + e.dur : Infinity;
		const top = open[open.length - 1];
		if (top && end > top.end)
			fail(`${at}: "${e.name}" ends at ${end}, after "${top.name}" it starts inside (${top.end})`);
		open.push({name: e.name, end, i});
	}
	const b = open.find((o) => o.end === Infinity);
	if (b) fail(`traceEvents[${b.i}] (${key}): B "${b.name}" is never ended`);
}

function checkTrace(doc) {
	let events;
	if (Array.isArray(doc)) {
		events = doc;
	} else {
		if (!isObj(doc) || !Array.isArray(doc.traceEvents)) fail('neither {"traceEvents":[...]} nor an array');
		events = doc.traceEvents;
		if ('displayTimeUnit' in doc && !['ms', 'ns'].includes(doc.displayTimeUnit))
			fail(`displayTimeUnit ${JSON.stringify(doc.displayTimeUnit)} is neither "ms" nor "ns"`);
		if ('otherData' in doc && !isObj(doc.otherData)) fail('otherData is not an object');
	}
	const threads = new Map(); // "pid/tid" -> slices
	const processNames = new Map(), threadNames = new Map();
	events.forEach((e, i) => {
		checkEvent(e, i);
		const key = `pid ${e.pid} tid ${e.tid}`;
		if (e.ph === 'M' && e.name === 'process_name') processNames.set(e.pid, e.args.name);
		if (e.ph === 'M' && e.name === 'thread_name') threadNames.set(key, e.args.name);
		if (['B', 'E', 'X'].includes(e.ph)) {
			if (!threads.has(key)) threads.set(key, {pid: e.pid, tid: e.tid, slices: []});
			threads.get(key).slices.push({e, i});
		}
	});
	for (const [key, t] of threads) {
		checkThread(key, t.slices);
		if (!processNames.has(t.pid)) fail(`no process_name for pid ${t.pid}`);
		if (!threadNames.has(key)) fail(`no thread_name for ${key}`);
		t.name = threadNames.get(key);
	}
	return {events, threads};
}

async function checkPage(page, trace, opts) {
	if (opts.screenshot) await page.screenshot(opts.screenshot);
	const missing = new Set(opts.expectName);
	const unseen = new Set([...trace.threads.values()].map((t) => `${t.name} (tid ${t.tid})`));
	const count = await page.forEachProfile(async (i, n, text) => {
		for (const name of unseen)
			if (text.includes(name)) unseen.delete(name);
		for (const name of [...missing])
			if (await page.sandwichHas(name)) missing.delete(name);
	});
	if (count !== trace.threads.size)
		fail(`speedscope lists ${count} profiles, the trace has ${trace.threads.size} threads with slices`);
	if (unseen.size) fail(`speedscope lists no profile for thread ${[...unseen][0]}`);
	if (missing.size) fail(`"${[...missing][0]}" is in no thread's sandwich table in speedscope`);
}

await runChecker('chrometrace_check', async (args, ctx) => {
	const opts = parseArgs(args, {options: OPTIONS, positional: 1, usage: USAGE});
	ctx.file = opts.positional[0];
	const trace = checkTrace(readJSON(ctx.file));
	for (const name of opts.expectName)
		if (!trace.events.some((e) => (e.ph === 'X' || e.ph === 'B') && e.name === name))
			fail(`no slice is named ${JSON.stringify(name)}`);
	if (!opts.noBrowser) await withSpeedscope(ctx.file, (page) => checkPage(page, trace, opts));
});
