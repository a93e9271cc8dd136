#!/usr/bin/env node
// SPDX-License-Identifier: MIT
//
// Checks a speedscope JSON file the way its consumers read it:
//   1. against speedscope's own file-format-schema.json (from the npm
//      package), with a small validator for the JSON-schema keywords that
//      schema uses, plus what the importer assumes but the schema cannot
//      say (frame indices in range, one weight per sample) and pyebpf's
//      promise that every frame has exactly the keys name, file, line, col;
//   2. by loading it into the real speedscope page from the npm package in
//      headless Chromium: no import error, every profile listed under its
//      name, and each --expect-frame NAME in some profile's sandwich table
//      (the flame graphs are drawn on a canvas, the table is DOM text).
//
// usage: node speedscope_check.mjs FILE.json [--expect-frame NAME]...
//                                  [--screenshot PNG] [--no-browser]
// Exits 0, or 1 with one line "speedscope_check: FILE: reason" on stderr.
import fs from 'node:fs';
import path from 'node:path';

import {CheckError, fail, parseArgs, readJSON, runChecker} from './checker.mjs';
import {SPEEDSCOPE_DIR, withSpeedscope} from './speedscope_page.mjs';

const FRAME_KEYS = ['col', 'file', 'line', 'name'];
const USAGE = 'usage: speedscope_check.mjs FILE.json [--expect-frame NAME]... [--screenshot PNG] [--no-browser]';

const OPTIONS = {'--expect-frame': [], '--screenshot': null, '--no-browser': false};

// --- 1. the schema -------------------------------------------------------

// The JSON-schema (draft-07) keywords file-format-schema.json uses: $ref
// (local), type, properties, required, items, anyOf, const, enum. Any other
// keyword fails loudly, so a new schema version cannot pass unchecked.
const KNOWN = new Set(['$schema', '$ref', 'definitions', 'type', 'properties', 'required',
	'items', 'anyOf', 'const', 'enum', 'title', 'description']);

function typeOf(v) {
	if (v === null) return 'null';
	if (Array.isArray(v)) return 'array';
	return typeof v;
}

function validate(schema, root, v, where) {
	for (const k of Object.keys(schema))
		if (!KNOWN.has(k)) fail(`schema keyword ${k} not supported by this checker (at ${where})`);
	if (schema.$ref) {
		const m = /^#\/definitions\/(.+)$/.exec(schema.$ref);
		if (!m || !root.definitions[m[1]]) fail(`schema: unresolvable $ref ${schema.$ref}`);
		validate(root.definitions[m[1]], root, v, where);
	}
	if (schema.type) {
		const t = typeOf(v);
		const ok = schema.type === 'number' ? t === 'number' && Number.isFinite(v)
			: schema.type === 'integer' ? Number.isInteger(v) : t === schema.type;
		if (!ok) fail(`${where}: ${t} where the schema wants ${schema.type}`);
	}
	if ('const' in schema && v !== schema.const)
		fail(`${where}: ${JSON.stringify(v)} where the schema wants ${JSON.stringify(schema.const)}`);
	if (schema.enum && !schema.enum.includes(v))
		fail(`${where}: ${JSON.stringify(v)} is not one of ${schema.enum.join(', ')}`);
	if (schema.required && typeOf(v) === 'object')
		for (const k of schema.required)
			if (!(k in v)) fail(`${where}: missing required "${k}"`);
	if (schema.properties && typeOf(v) === 'object')
		for (const [k, sub] of Object.entries(schema.properties))
			if (k in v) validate(sub, root, v[k], `${where}.${k}`);
	if (schema.items && typeOf(v) === 'array')
		v.forEach((item, i) => validate(schema.items, root, item, `${where}[${i}]`));
	if (schema.anyOf) {
		const errors = [];
		for (const sub of schema.anyOf) {
			try {
				validate(sub, root, v, where);
				return;
			} catch (e) {
				if (!(e instanceof CheckError)) throw e;
				errors.push(e.message);
			}
		}
		fail(`${where}: matches none of anyOf (${errors.join(' | ')})`);
	}
}

// What the importer assumes and pyebpf promises, beyond the schema.
function checkSemantics(doc) {
	const frames = doc.shared.frames;
	frames.forEach((f, i) => {
		const keys = Object.keys(f).sort();
		if (keys.join() !== FRAME_KEYS.join())
			fail(`shared.frames[${i}] has keys ${keys.join(',')}, want exactly name,file,line,col`);
		if (!Number.isInteger(f.line) || f.line < 0 || !Number.isInteger(f.col) || f.col < 0)
			fail(`shared.frames[${i}]: line and col must be integers >= 0`);
	});
	if (!doc.profiles.length) fail('no profiles');
	if ('activeProfileIndex' in doc && !(Number.isInteger(doc.activeProfileIndex) &&
	    doc.activeProfileIndex >= 0 && doc.activeProfileIndex < doc.profiles.length))
		fail(`activeProfileIndex ${doc.activeProfileIndex} is not a profile`);
	doc.profiles.forEach((p, i) => {
		const at = `profiles[${i}] (${JSON.stringify(p.name)})`;
		if (p.type !== 'sampled') fail(`${at}: type ${p.type}, pyebpf writes sampled profiles`);
		if (p.samples.length !== p.weights.length)
			fail(`${at}: ${p.samples.length} samples but ${p.weights.length} weights`);
		let total = 0;
		p.samples.forEach((s, j) => {
			if (!s.length) fail(`${at}.samples[${j}] is empty`);
			for (const f of s)
				if (!Number.isInteger(f) || f < 0 || f >= frames.length)
					fail(`${at}.samples[${j}]: frame index ${f} out of range`);
		});
		p.weights.forEach((w, j) => {
			if (!(w >= 0)) fail(`${at}.weights[${j}] = ${w} is negative`);
			total += w;
		});
		if (p.endValue < p.startValue) fail(`${at}: endValue before startValue`);
		const span = p.endValue - p.startValue;
		if (Math.abs(total - span) > 1e-9 * Math.max(1, span))
			fail(`${at}: weights add up to ${total}, endValue - startValue is ${span}`);
	});
}

function checkFile(file) {
	const doc = readJSON(file);
	let schema;
	try {
		schema = JSON.parse(fs.readFileSync(path.join(SPEEDSCOPE_DIR, 'file-format-schema.json'), 'utf8'));
	} catch (e) {
		fail(`cannot read speedscope's schema (npm ci in tests/browser): ${e.message}`);
	}
	validate(schema, schema, doc, '$');
	checkSemantics(doc);
	return doc;
}

// --- 2. the speedscope page ------------------------------------------------

async function checkPage(page, doc, opts) {
	const title = await page.page.title();
	if (doc.name && title !== `${doc.name} - speedscope`)
		fail(`page title ${JSON.stringify(title)}, want the file's name ${JSON.stringify(doc.name)}`);
	if (opts.screenshot) await page.screenshot(opts.screenshot);
	const missing = new Set(opts.expectFrame);
	const count = await page.forEachProfile(async (i, n, text) => {
		const name = doc.profiles[i - 1]?.name;
		const shown = n > 1 ? `${name} (${i}/${n})` : name;
		if (!text.includes(shown)) fail(`speedscope does not show profile ${i} as ${JSON.stringify(shown)}`);
		for (const frame of [...missing])
			if (await page.sandwichHas(frame)) missing.delete(frame);
	});
	if (count !== doc.profiles.length)
		fail(`speedscope lists ${count} profiles, the file has ${doc.profiles.length}`);
	if (missing.size)
		fail(`frame ${JSON.stringify([...missing][0])} is in no profile's sandwich table`);
}

await runChecker('speedscope_check', async (args, ctx) => {
	const opts = parseArgs(args, {options: OPTIONS, positional: 1, usage: USAGE});
	ctx.file = opts.positional[0];
	const doc = checkFile(ctx.file);
	if (!opts.noBrowser) await withSpeedscope(ctx.file, (page) => checkPage(page, doc, opts));
});
