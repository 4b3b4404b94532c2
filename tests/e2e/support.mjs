// What the browser tests against OHIF share: their checks and count of failures, running
// hepatrack's commands, a free loopback port, and closing OHIF's notices.

import { spawnSync } from 'node:child_process';
import { createServer } from 'node:net';

export let failures = 0;

export function check(ok, what) {
  console.log(`${ok ? 'ok  ' : 'FAIL'}: ${what}`);
  if (!ok) failures++;
}

export function fail() {
  failures++;
}

export function run(args, input) {
  const p = spawnSync(args[0], args.slice(1), { input, encoding: 'utf8' });
  if (p.status !== 0) throw new Error(`${args.join(' ')}: ${p.stderr}`);
  return p.stdout;
}

export function freePort() {
  return new Promise((done) => {
    const s = createServer().listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => done(port));
    });
  });
}

// OHIF's notices over the viewer (the investigational-use banner, the hotkeys tour).
export async function dismiss(page) {
  for (const text of ['Confirm and hide', 'Skip all']) {
    const b = page.getByText(text, { exact: true }).first();
    if (await b.isVisible().catch(() => false)) await b.click({ timeout: 1000 }).catch(() => {});
  }
}
