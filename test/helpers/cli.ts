// Helpers that drive the built CLI as a user would: a child process, its
// stdout line with the URL, signals, and the exit code.

import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';

export const CLI = path.join(path.dirname(fileURLToPath(import.meta.url)), '..', '..', 'dist', 'src', 'cli.js');

export interface Running {
  proc: ChildProcess;
  port: number;
  stdout(): string;
  stderr(): string;
  /** SIGTERM, then the exit code. */
  stop(): Promise<number | null>;
}

export function runCli(args: string[], options: { cwd?: string; timeout?: number } = {}): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const proc = spawn(process.execPath, [CLI, ...args], { cwd: options.cwd, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    proc.stdout.on('data', (c) => (stdout += c));
    proc.stderr.on('data', (c) => (stderr += c));
    const timer = setTimeout(() => proc.kill('SIGKILL'), options.timeout ?? 10_000);
    proc.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

export function startCli(args: string[], options: { cwd?: string } = {}): Promise<Running> {
  return new Promise((resolve, reject) => {
    const proc = spawn(process.execPath, [CLI, ...args], { cwd: options.cwd, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    let started = false;
    const exited = new Promise<number | null>((r) => proc.on('close', (code) => r(code)));
    const timer = setTimeout(() => {
      proc.kill('SIGKILL');
      reject(new Error(`server did not start: ${stderr}`));
    }, 10_000);
    proc.stderr.on('data', (c) => (stderr += c));
    proc.stdout.on('data', (c) => {
      stdout += c;
      const m = /at https?:\/\/[^:]+:(\d+)\//.exec(stdout);
      if (m && !started) {
        started = true;
        clearTimeout(timer);
        resolve({
          proc,
          port: Number(m[1]),
          stdout: () => stdout,
          stderr: () => stderr,
          stop: async () => {
            proc.kill('SIGTERM');
            const t = setTimeout(() => proc.kill('SIGKILL'), 5000);
            const code = await exited;
            clearTimeout(t);
            return code;
          },
        });
      }
    });
    proc.on('close', (code) => {
      if (!started) {
        clearTimeout(timer);
        reject(new Error(`server exited ${code}: ${stderr}`));
      }
    });
  });
}

/** A document root with the hard names, made fresh for a test file. */
export function makeRoot(): { root: string; outside: string; cleanup(): void } {
  const base = fs.mkdtempSync(path.join(os.tmpdir(), 'streamstack-'));
  const root = path.join(base, 'root');
  const outside = path.join(base, 'outside');
  fs.mkdirSync(root);
  fs.mkdirSync(outside);
  fs.writeFileSync(path.join(outside, 'secret.txt'), 'secret\n');
  fs.writeFileSync(path.join(root, 'hello.txt'), 'Hello, world\n');
  fs.writeFileSync(path.join(root, 'some thing.txt'), 'spaced\n');
  fs.writeFileSync(path.join(root, 'do..ts.txt'), 'dots\n');
  fs.writeFileSync(path.join(root, '.hidden'), 'hidden\n');
  fs.writeFileSync(path.join(root, 'page.html'), '<p>hi</p>\n');
  fs.mkdirSync(path.join(root, 'snow ☃'));
  fs.writeFileSync(path.join(root, 'snow ☃', 'flake.txt'), 'cold\n');
  fs.symlinkSync(path.join(outside, 'secret.txt'), path.join(root, 'escape.txt'));
  fs.symlinkSync(outside, path.join(root, 'escape-dir'));
  fs.symlinkSync(path.join(root, 'hello.txt'), path.join(root, 'inside-link.txt'));
  return { root, outside, cleanup: () => fs.rmSync(base, { recursive: true, force: true }) };
}

/** A test file's started CLIs and temporary directories: `cleanup` (after each test) stops and removes them. */
export function cliScratch(prefix: string): { running: Running[]; tmp(): string; cleanup(): Promise<void> } {
  const running: Running[] = [];
  const dirs: string[] = [];
  return {
    running,
    tmp() {
      const d = fs.mkdtempSync(path.join(os.tmpdir(), prefix));
      dirs.push(d);
      return d;
    },
    async cleanup() {
      await Promise.all(running.splice(0).map((r) => r.stop()));
      for (const d of dirs.splice(0)) fs.rmSync(d, { recursive: true, force: true });
    },
  };
}
