// The architecture as a test. Imports are read with the TypeScript parser (static, side-effect,
// type-only, `export … from`, dynamic import() and import types), then: each folder imports only
// the folders below it, no file imports itself round a cycle, the terminal packages stay in cli/,
// and the code that must run in a browser (engine, nn, optim) or stay quiet (train, weights)
// touches no Node module or `process`.
import { builtinModules } from 'node:module';
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import ts from 'typescript';
import { describe, expect, it } from 'vitest';

const SRC = join(import.meta.dirname, '../src');

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? sourceFiles(join(dir, e.name)) : /\.(ts|mjs)$/.test(e.name) ? [join(dir, e.name)] : [],
  );
}

interface Parsed {
  imports: string[];
  /** The imports still there at run time (not `import type`, not only types named, not import types). */
  runtime: string[];
  /** Whether the code reads the global `process` (not a property or a declaration named so). */
  usesProcess: boolean;
}

/** Every module specifier a file names, and whether it touches `process`. */
export function parseSource(text: string, name = 'x.ts'): Parsed {
  const sf = ts.createSourceFile(name, text, ts.ScriptTarget.Latest, true, name.endsWith('.mjs') ? ts.ScriptKind.JS : ts.ScriptKind.TS);
  const imports: string[] = [];
  const runtime: string[] = [];
  let usesProcess = false;
  const typeOnly = (n: ts.ImportDeclaration | ts.ExportDeclaration): boolean => {
    if (ts.isExportDeclaration(n)) return n.isTypeOnly || (!!n.exportClause && ts.isNamedExports(n.exportClause) && n.exportClause.elements.length > 0 && n.exportClause.elements.every((e) => e.isTypeOnly));
    const c = n.importClause;
    if (!c) return false; // a side-effect import
    if (c.isTypeOnly) return true;
    const b = c.namedBindings;
    return !c.name && !!b && ts.isNamedImports(b) && b.elements.length > 0 && b.elements.every((e) => e.isTypeOnly);
  };
  const visit = (n: ts.Node): void => {
    if ((ts.isImportDeclaration(n) || ts.isExportDeclaration(n)) && n.moduleSpecifier && ts.isStringLiteral(n.moduleSpecifier)) {
      imports.push(n.moduleSpecifier.text);
      if (!typeOnly(n)) runtime.push(n.moduleSpecifier.text);
    } else if (ts.isImportEqualsDeclaration(n) && ts.isExternalModuleReference(n.moduleReference) && ts.isStringLiteral(n.moduleReference.expression)) {
      imports.push(n.moduleReference.expression.text);
      runtime.push(n.moduleReference.expression.text);
    } else if (ts.isCallExpression(n) && n.expression.kind === ts.SyntaxKind.ImportKeyword && n.arguments[0] && ts.isStringLiteralLike(n.arguments[0])) {
      imports.push(n.arguments[0].text);
      runtime.push(n.arguments[0].text);
    } else if (ts.isImportTypeNode(n) && ts.isLiteralTypeNode(n.argument) && ts.isStringLiteral(n.argument.literal)) {
      imports.push(n.argument.literal.text);
    } else if (ts.isIdentifier(n) && n.text === 'process') {
      const p = n.parent;
      const isName = (ts.isPropertyAccessExpression(p) && p.name === n) || (ts.isPropertyAssignment(p) && p.name === n) ||
        ((ts.isVariableDeclaration(p) || ts.isParameter(p) || ts.isPropertyDeclaration(p) || ts.isMethodDeclaration(p)) && p.name === n);
      if (!isName) usesProcess = true;
    }
    ts.forEachChild(n, visit);
  };
  visit(sf);
  return { imports, runtime, usesProcess };
}

const files = sourceFiles(SRC);
const parsed = new Map(files.map((f) => [f, parseSource(readFileSync(f, 'utf8'), f)]));
const folder = (f: string) => relative(SRC, f).split('/')[0];
const show = (f: string) => relative(SRC, f);

/** The source file a relative specifier names, or undefined for a package. */
function target(from: string, spec: string): string | undefined {
  return spec.startsWith('.') ? resolve(dirname(from), spec) : undefined;
}

// which folders each folder may import (its own always)
const ALLOWED: Record<string, string[]> = {
  engine: [],
  nn: ['engine'],
  optim: ['engine', 'nn'],
  data: ['engine'],
  weights: ['engine', 'nn', 'optim'],
  train: ['engine', 'nn', 'optim', 'weights'],
  report: ['engine', 'nn', 'train', 'weights'],
  interop: ['engine', 'nn', 'weights', 'train'],
  // the live page's script: bundled for the browser (see below)
  live: ['engine', 'nn', 'data', 'report', 'weights'],
  cli: ['engine', 'nn', 'optim', 'data', 'weights', 'train', 'report', 'interop', 'live'],
};
const TERMINAL = /^(commander|chalk|ora|cli-progress)(\/|$)/;
const NODE_ONLY = new Set(builtinModules);
const isNodeModule = (spec: string) => spec.startsWith('node:') || NODE_ONLY.has(spec.split('/')[0]) || NODE_ONLY.has(spec);

describe('the import parser', () => {
  it('sees static, side-effect, type-only, re-export and dynamic imports, and import types', () => {
    const { imports } = parseSource([
      "import { a } from './a.ts';",
      "import './side-effect.ts';",
      "import type { B } from './b.ts';",
      "import { type C, d } from './c.ts';",
      "export { e } from './e.ts';",
      "export * from './f.ts';",
      "export type { G } from './g.ts';",
      "const h = await import('./h.ts');",
      "let i: import('./i.ts').I;",
      "// import { j } from './commented.ts';",
      "const s = \"import { k } from './in-a-string.ts'\";",
    ].join('\n'));
    expect(imports).toEqual(['./a.ts', './side-effect.ts', './b.ts', './c.ts', './e.ts', './f.ts', './g.ts', './h.ts', './i.ts']);
    expect(parseSource([
      "import { a } from './a.ts';", "import './side.ts';", "import type { B } from './b.ts';", "import { type C } from './c.ts';",
      "import { type D, d } from './d.ts';", "export type { E } from './e.ts';", "export * from './f.ts';", "let g: import('./g.ts').G;",
    ].join('\n')).runtime).toEqual(['./a.ts', './side.ts', './d.ts', './f.ts']);
  });

  it('tells a use of process from a property or a binding of that name', () => {
    expect(parseSource('const x = process.env.HOME;').usesProcess).toBe(true);
    expect(parseSource('const { argv } = process;').usesProcess).toBe(true);
    expect(parseSource('const o = { process: 1 }; o.process; function f(process: number) {}').usesProcess).toBe(false);
  });
});

describe('layering', () => {
  it('knows every folder of src/', () => {
    expect(new Set(files.map(folder))).toEqual(new Set(Object.keys(ALLOWED)));
  });

  for (const [layer, allowed] of Object.entries(ALLOWED)) {
    it(`src/${layer} imports only ${allowed.length ? allowed.join(', ') : 'itself'}${layer === 'cli' ? '' : ', and no terminal package'}`, () => {
      const own = files.filter((f) => folder(f) === layer);
      expect(own.length).toBeGreaterThan(0);
      for (const f of own) {
        for (const spec of parsed.get(f)!.imports) {
          const t = target(f, spec);
          if (t) {
            expect(t.startsWith(SRC), `${show(f)} imports ${spec} from outside src/`).toBe(true);
            expect([layer, ...allowed], `${show(f)} imports ${spec}`).toContain(folder(t));
          } else if (layer !== 'cli') expect(spec, `${show(f)} imports ${spec}`).not.toMatch(TERMINAL);
        }
      }
    });
  }

  it('keeps Node modules out of engine, nn and optim (they must bundle for a browser page)', () => {
    for (const f of files.filter((x) => ['engine', 'nn', 'optim'].includes(folder(x)))) {
      for (const spec of parsed.get(f)!.imports) expect(isNodeModule(spec), `${show(f)} imports ${spec}`).toBe(false);
    }
  });

  it('keeps Node modules and Node-only packages out of the code the live page bundles', () => {
    // what src/live/app.ts reaches at run time (type-only imports are erased): esbuild (platform
    // browser) would fail on these and the page would break
    const seen = new Set<string>();
    const reach = (f: string): void => {
      if (seen.has(f) || !parsed.has(f)) return;
      seen.add(f);
      for (const spec of parsed.get(f)!.runtime) {
        expect(isNodeModule(spec) || /^(pngjs|jpeg-js|esbuild)$/.test(spec), `${show(f)} (bundled by the live page) imports ${spec}`).toBe(false);
        const t = target(f, spec);
        if (t) reach(t);
      }
    };
    reach(join(SRC, 'live/app.ts'));
    expect(seen.size).toBeGreaterThan(10);
    // and every file of the folders it is made of, reached or not
    const browser = files.filter((f) => ['live', 'engine', 'nn'].includes(folder(f)) || /^(data\/(image(\.ts$|\/)|ink-shape\.ts$)|report\/(activations|colors)\.ts$)/.test(show(f)));
    for (const f of browser.filter((x) => x.endsWith('.ts'))) {
      for (const spec of parsed.get(f)!.imports) expect(isNodeModule(spec) || /^(pngjs|jpeg-js|esbuild)$/.test(spec), `${show(f)} imports ${spec}`).toBe(false);
    }
  });

  it('keeps process out of engine, nn, optim, weights, train, report, interop and live', () => {
    for (const f of files.filter((x) => ['engine', 'nn', 'optim', 'weights', 'train', 'report', 'interop', 'live'].includes(folder(x)))) {
      expect(parsed.get(f)!.usesProcess, `${show(f)} uses process`).toBe(false);
    }
  });

  it('keeps the file system and the terminal out of everything but cli and data', () => {
    const io = /^(node:)?(fs|fs\/promises|child_process|readline|tty)$/;
    for (const f of files.filter((x) => !['cli', 'data'].includes(folder(x)))) {
      for (const spec of parsed.get(f)!.imports) expect(spec, `${show(f)} imports ${spec}`).not.toMatch(io);
    }
  });

  it('has no import cycle, inside a folder or across folders', () => {
    const edges = new Map(files.map((f) => [f, parsed.get(f)!.imports.map((s) => target(f, s)).filter((t): t is string => !!t && parsed.has(t))]));
    const cycles = findCycles(edges);
    expect(cycles.map((c) => c.map(show).join(' -> '))).toEqual([]);
  });

  it('finds a cycle when there is one', () => {
    const g = new Map([['a', ['b']], ['b', ['c']], ['c', ['a']], ['d', ['a']]]);
    expect(findCycles(g)).toEqual([['a', 'b', 'c', 'a']]);
  });
});

/** Every cycle met by a depth-first walk (one per back edge), as a path that returns to its start. */
function findCycles(edges: Map<string, string[]>): string[][] {
  const state = new Map<string, 'open' | 'done'>();
  const stack: string[] = [];
  const cycles: string[][] = [];
  const walk = (n: string): void => {
    state.set(n, 'open');
    stack.push(n);
    for (const m of edges.get(n) ?? []) {
      if (state.get(m) === 'open') cycles.push([...stack.slice(stack.indexOf(m)), m]);
      else if (!state.has(m)) walk(m);
    }
    stack.pop();
    state.set(n, 'done');
  };
  for (const n of [...edges.keys()].sort()) if (!state.has(n)) walk(n);
  return cycles;
}
