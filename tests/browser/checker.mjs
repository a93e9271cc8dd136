// SPDX-License-Identifier: MIT
//
// What every checker here shares: failing with one line, reading its
// arguments, and a fresh headless Chromium (Debian's, driven by
// playwright-core) that is gone again when the check ends.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import {createRequire} from 'node:module';

const require = createRequire(import.meta.url);

const CHROMIUM = process.env.CHROMIUM || '/usr/bin/chromium';
// without the network flags Chromium's own connections are refused by the
// closed network, many at a time
const CHROMIUM_ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic',
	'--no-first-run', '--disable-background-networking', '--disable-component-update',
	'--disable-sync'];

// A failed check: its message is the one line the checkers print.
export class CheckError extends Error {}
export const fail = (msg) => {
	throw new CheckError(msg);
};

// Runs main(args, ctx) and exits 0, or 1 with one line "NAME: reason" on
// stderr, or "NAME: FILE: reason" once main has set ctx.file.
export async function runChecker(name, main) {
	const ctx = {file: null};
	try {
		await main(process.argv.slice(2), ctx);
		process.exitCode = 0;
	} catch (e) {
		const msg = e instanceof CheckError ? e.message : `${e.name}: ${e.message}`;
		const where = ctx.file === null ? '' : `${ctx.file}: `;
		process.stderr.write(`${name}: ${where}${msg.split('\n')[0]}\n`);
		process.exitCode = 1;
	}
}

// Reads a checker's arguments. `options` maps each --option to its
// default, which says what it takes: an array collects every value it is
// given, false makes it a flag (true when given), anything else takes one
// value. Returns the options by their camel-case names (--expect-name:
// expectName) and the other arguments as `positional`; fails on an
// unknown option or one without its value, on more than `positional`
// other arguments, and with `usage` on fewer.
export function parseArgs(argv, {options, positional, usage}) {
	const key = (opt) => opt.slice(2).replace(/-(.)/g, (_, c) => c.toUpperCase());
	const opts = {positional: []};
	for (const [opt, init] of Object.entries(options))
		opts[key(opt)] = Array.isArray(init) ? [...init] : init;
	for (let i = 0; i < argv.length; i++) {
		const a = argv[i];
		const init = options[a];
		if (!a.startsWith('--')) {
			if (opts.positional.length === positional) fail(`unexpected argument ${JSON.stringify(a)}`);
			opts.positional.push(a);
		} else if (init === undefined) {
			fail(`unexpected argument ${JSON.stringify(a)}`);
		} else if (init === false) {
			opts[key(a)] = true;
		} else {
			if (i + 1 === argv.length) fail(`${a} needs a value`);
			if (Array.isArray(init)) opts[key(a)].push(argv[++i]);
			else opts[key(a)] = argv[++i];
		}
	}
	if (opts.positional.length < positional) fail(usage);
	return opts;
}

// Opens a fresh headless Chromium (a throw-away profile directory, a
// 1280x800 viewport), calls use(page) with its page and returns what that
// returns; closes Chromium and removes the directory whatever happens.
export async function withChromium(use) {
	if (!fs.existsSync(CHROMIUM)) fail(`no Chromium at ${CHROMIUM} (tools/install-deps.sh installs it)`);
	let chromium;
	try {
		({chromium} = require('playwright-core'));
	} catch (e) {
		fail(`playwright-core is not installed (npm ci in tests/browser): ${e.message}`);
	}
	const userData = fs.mkdtempSync(path.join(os.tmpdir(), 'pyebpf-chromium-'));
	let context;
	try {
		context = await chromium.launchPersistentContext(userData, {
			executablePath: CHROMIUM, headless: true, args: CHROMIUM_ARGS,
			viewport: {width: 1280, height: 800},
		});
		return await use(context.pages()[0] ?? await context.newPage());
	} finally {
		if (context) await context.close().catch(() => {});
		fs.rmSync(userData, {recursive: true, force: true});
	}
}

// Reads and parses a JSON file, or fails saying why.
export function readJSON(file) {
	let text;
	try {
		text = fs.readFileSync(file, 'utf8');
	} catch (e) {
		fail(`cannot read it: ${e.message}`);
	}
	try {
		return JSON.parse(text);
	} catch (e) {
		fail(`not JSON: ${e.message}`);
	}
}
