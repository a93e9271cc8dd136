// SPDX-License-Identifier: MIT
//
// Opening a profile in the real speedscope page (the npm package's built
// app) in headless Chromium, for speedscope_check.mjs and
// chrometrace_check.mjs. speedscope imports its own JSON format and Chrome's
// trace-event format; its flame graphs are drawn on a canvas, but the
// toolbar (profile names) and the sandwich view's table (frame names) are
// DOM text, and import problems show as a message or console warnings.
import fs from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import {fileURLToPath} from 'node:url';

import {fail, withChromium} from './checker.mjs';

const here = path.dirname(fileURLToPath(import.meta.url));

export const SPEEDSCOPE_DIR = path.join(here, 'node_modules', 'speedscope', 'dist', 'release');
const TIMEOUT_MS = 30000;

const MIME = {'.html': 'text/html', '.js': 'text/javascript', '.css': 'text/css',
	'.json': 'application/json', '.wasm': 'application/wasm', '.png': 'image/png',
	'.ico': 'image/x-icon', '.woff2': 'font/woff2', '.txt': 'text/plain'};

// speedscope's built app, and the profile as /profile.json, on a loopback
// port chosen by the kernel.
async function serve(profileBytes) {
	const server = http.createServer((req, res) => {
		const url = new URL(req.url, 'http://localhost');
		if (url.pathname === '/profile.json') {
			res.writeHead(200, {'content-type': 'application/json'});
			res.end(profileBytes);
			return;
		}
		const rel = path.normalize(decodeURIComponent(url.pathname)).replace(/^[/\\]+/, '');
		const file = path.join(SPEEDSCOPE_DIR, rel || 'index.html');
		if (!file.startsWith(SPEEDSCOPE_DIR + path.sep)) {
			res.writeHead(403);
			res.end();
			return;
		}
		fs.readFile(file, (err, data) => {
			if (err) {
				res.writeHead(404);
				res.end();
				return;
			}
			res.writeHead(200, {'content-type': MIME[path.extname(file)] || 'application/octet-stream'});
			res.end(data);
		});
	});
	await new Promise((resolve, reject) => {
		server.once('error', reject);
		server.listen(0, '127.0.0.1', resolve);
	});
	return server;
}

// The "(i/N)" position the toolbar shows; [1, 1] with one profile.
async function position(page) {
	const text = await page.evaluate(() => document.body.innerText);
	const m = /\((\d+)\/(\d+)\)\s*$/m.exec(text);
	return m ? [Number(m[1]), Number(m[2])] : [1, 1];
}

class SpeedscopePage {
	constructor(page) {
		this.page = page;
		this.problems = []; // page errors and import warnings
		page.on('pageerror', (e) => this.problems.push(`page error: ${e.message}`));
		page.on('console', (m) => {
			const text = m.text();
			// WebGL driver chatter of the software renderer is no problem
			if (/GL Driver Message|WebGL/.test(text)) return;
			if (m.type() === 'error' || m.type() === 'warning' || /^Failed to load/.test(text))
				this.problems.push(`console ${m.type()}: ${text.split('\n')[0]}`);
		});
	}

	// Fails unless speedscope imported the profile without a problem.
	async load(base) {
		const page = this.page;
		const profileURL = `${base}/profile.json`;
		await page.goto(`${base}/index.html#profileURL=${encodeURIComponent(profileURL)}`);
		const loaded = page.getByText('Sandwich', {exact: false}).first();
		const broken = page.getByText('Something went wrong', {exact: false}).first();
		await Promise.race([
			loaded.waitFor({timeout: TIMEOUT_MS}),
			broken.waitFor({timeout: TIMEOUT_MS}),
		]).catch(() => fail('speedscope showed neither a profile nor an error in time'));
		if (await broken.isVisible() || this.problems.length)
			fail(`speedscope could not import it: ${this.problems[0] || 'Something went wrong'}`);
	}

	// Calls visit(i, count, toolbarText) for every profile, in the order
	// speedscope lists them (i from 1), in the sandwich view.
	async forEachProfile(visit) {
		const page = this.page;
		await page.getByText('Sandwich', {exact: false}).first().click();
		let [at, count] = await position(page);
		for (let i = 0; i < count && at !== 1; i++) {
			await page.keyboard.press('p');
			[at] = await position(page);
		}
		for (let i = 1; i <= count; i++) {
			if (at !== i) fail(`cannot step to profile ${i} of ${count} in speedscope (at ${at})`);
			await visit(i, count, await page.evaluate(() => document.body.innerText));
			if (i < count) {
				await page.keyboard.press('n');
				[at] = await position(page);
			}
		}
		return count;
	}

	// Whether the current profile's sandwich table has a row whose symbol
	// is `name`, or `name {args}` (how speedscope names trace events with
	// args). The search box (Ctrl+F) narrows the virtualized table first.
	async sandwichHas(name) {
		const page = this.page;
		await page.keyboard.press('Control+f');
		await page.waitForFunction(() => document.activeElement?.tagName === 'INPUT', null,
			{timeout: 5000}).catch(() => fail('Ctrl+F opened no search box in speedscope'));
		await page.keyboard.press('Control+a');
		await page.keyboard.insertText(name);
		const found = await page.waitForFunction(
			(want) => [...document.querySelectorAll('*')].some((e) => e.childElementCount === 0 &&
				(e.textContent === want || e.textContent.startsWith(`${want} {`))),
			name, {timeout: 2000}).then(() => true, () => false);
		await page.keyboard.press('Control+a');
		await page.keyboard.press('Backspace');
		// close the search, so keys go to the view again
		await page.keyboard.press('Escape');
		await page.evaluate(() => document.activeElement?.blur());
		return found;
	}

	async screenshot(file) {
		await this.page.screenshot({path: file});
	}
}

// Serves `file`, opens speedscope on it in a fresh headless Chromium and
// calls check(speedscopePage) after a clean import; tears everything down.
export async function withSpeedscope(file, check) {
	if (!fs.existsSync(path.join(SPEEDSCOPE_DIR, 'index.html')))
		fail(`no speedscope app in ${SPEEDSCOPE_DIR} (npm ci in tests/browser)`);
	const server = await serve(fs.readFileSync(file));
	try {
		await withChromium(async (chromiumPage) => {
			const page = new SpeedscopePage(chromiumPage);
			await page.load(`http://127.0.0.1:${server.address().port}`);
			await check(page);
			if (page.problems.length) fail(page.problems[0]);
		});
	} finally {
		server.close();
	}
}
