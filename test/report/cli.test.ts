// The --report / --explain flags end to end: spawn the real commands and check the pages they write.
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { expectOneLineError, runBin } from '../cli/helpers.ts';
import { count, expectSelfContained } from './helpers.ts';

const tmp = mkdtempSync(join(tmpdir(), 'mnist-report-cli-'));

describe('mnist-train --report', () => {
  it('writes the training report after the last epoch', () => {
    const report = join(tmp, 'report.html');
    const r = runBin('mnist-train', ['--hidden', '16', '--epochs', '2', '--limit', '600', '--test-limit', '300', '--out', join(tmp, 'w.json'), '--report', report]);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toContain(`report written to ${report}`);
    const html = readFileSync(report, 'utf8');
    expect(count(html, /<svg class="curve"/)).toBe(2);
    expect(count(html, /<circle class="pt"/)).toBe(2 * 2 * 2);
    const cells = [...html.matchAll(/<td class="cell(?: diag)?"[^>]*>(\d*)<\/td>/g)].map((m) => Number(m[1] || 0));
    expect(cells).toHaveLength(100);
    expect(cells.reduce((a, b) => a + b, 0)).toBe(300);
    const w = JSON.parse(readFileSync(join(tmp, 'w.json'), 'utf8'));
    const errors = 300 - cells.filter((_, i) => i % 11 === 0).reduce((a, b) => a + b, 0);
    expect(Math.abs(errors / 300 - (1 - w.metrics[1].testAccuracy))).toBeLessThan(1e-9);
    expect(count(html, /<figure class="miss"/)).toBe(Math.min(100, errors));
    expectSelfContained(html);
  });

  it('rejects a report path in a missing directory before training', () => {
    const r = runBin('mnist-train', ['--limit', '100', '--out', join(tmp, 'x.json'), '--report', '/nonexistent-dir/r.html']);
    expectOneLineError(r, /--report \/nonexistent-dir\/r\.html: directory .* does not exist/);
    expect(r.stdout).not.toMatch(/^epoch/m);
    expect(existsSync(join(tmp, 'x.json'))).toBe(false);
  });

  it('lists the flag in --help', () => {
    expect(runBin('mnist-train', ['--help']).stdout).toMatch(/--report <file>/);
  });
});
