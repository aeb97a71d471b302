// The --arch grammar: a line like "conv(16,3,padding=1) relu maxpool(2) flatten linear(10)" parsed
// into layer specs, with input sizes inferred by propagating the sample shape; and back (formatArch).
import { ConfigError, MnistError } from '../engine/errors.ts';
import { Rng } from '../engine/rng.ts';
import { fmtShape } from '../engine/tensor.ts';
import { buildLayer } from './models.ts';
import type { LayerSpec } from './module.ts';

/**
 * Grammar (layers separated by spaces and/or commas; arguments Python-style, positional first):
 *
 *   conv(out, kernel, stride=1, padding=0, dilation=1, groups=1, bias=true)
 *   maxpool(kernel, stride=kernel, padding=0, dilation=1, ceil=false)
 *   linear(out, bias=true)   dropout(p=0.5)   relu   flatten   softmax   logsoftmax
 *
 * kernel, stride, padding and dilation take an int (same for height and width) or HxW such as
 * 3x2 (height 3, width 2); conv's padding may also be `same` or `valid`; booleans are true/false.
 * Input channels and features are inferred, so conv and linear name only their outputs.
 */
export const ARCH_GRAMMAR =
  'conv(out, kernel, stride=, padding=, dilation=, groups=, bias=), maxpool(kernel, stride=, padding=, dilation=, ceil=), ' +
  'linear(out, bias=), dropout(p), relu, flatten, softmax, logsoftmax; sizes are N or HxW';

/** The default CNN preset: two conv/pool stages and a two-layer classifier (206,922 parameters). */
export const CNN_ARCH = 'conv(16,3,padding=1) relu maxpool(2) conv(32,3,padding=1) relu maxpool(2) flatten linear(128) relu linear(10)';

/** The CNN preset's layer specs for a 1x28x28 input and 10 classes. */
export function cnnSpecs(): LayerSpec[] {
  return parseArch(CNN_ARCH);
}

/** A malformed --arch string; the message gives the bad token and its column. */
export class ArchError extends ConfigError {
  constructor(
    readonly problem: string,
    readonly spec: string,
    /** 1-based column of the offending token. */
    readonly column: number,
    readonly length: number,
    hint?: string,
  ) {
    // one line, so it reads the same in a terminal, a CI log and a script's stderr
    super(`--arch: ${problem} at column ${column} (${JSON.stringify(spec.slice(column - 1, column - 1 + Math.max(1, length)))})`, hint);
  }
}

// ---- tokens ----

type TokenKind = 'name' | 'number' | 'pair' | '(' | ')' | ',' | '=' | 'end';

interface Token {
  kind: TokenKind;
  text: string;
  /** 0-based offset into the spec. */
  pos: number;
}

const TOKEN = /(?:(\d+x\d+)(?![\w.])|([-+]?(?:\d+\.?\d*|\.\d+)(?:e[-+]?\d+)?)(?![\w.])|([A-Za-z_]\w*)|([(),=]))/y;

function tokenize(spec: string): Token[] {
  const out: Token[] = [];
  let i = 0;
  for (;;) {
    while (i < spec.length && /\s/.test(spec[i])) i++;
    if (i >= spec.length) break;
    TOKEN.lastIndex = i;
    const m = TOKEN.exec(spec);
    if (!m) {
      const bad = /^\S[^\s(),=]*/.exec(spec.slice(i))![0];
      throw new ArchError(`unexpected ${JSON.stringify(bad)}`, spec, i + 1, bad.length, `expected layers such as ${CNN_ARCH}`);
    }
    const text = m[1] ?? m[2] ?? m[3] ?? m[4];
    const kind: TokenKind = m[1] ? 'pair' : m[2] ? 'number' : m[3] ? 'name' : (m[4] as TokenKind);
    out.push({ kind, text, pos: i });
    i = TOKEN.lastIndex;
  }
  out.push({ kind: 'end', text: '', pos: spec.length });
  return out;
}

// ---- syntax: layer names with argument lists ----

interface Arg {
  /** Keyword, or undefined for a positional argument. */
  key?: string;
  keyTok?: Token;
  value: Token;
}

interface LayerCall {
  name: Token;
  args: Arg[];
  /** The whole call "conv(8,3)", for error positions. */
  pos: number;
  length: number;
}

function parseCalls(spec: string): LayerCall[] {
  const toks = tokenize(spec);
  const calls: LayerCall[] = [];
  let i = 0;
  const fail = (t: Token, problem: string, hint?: string): never => {
    throw new ArchError(problem, spec, t.pos + 1, t.text.length || 1, hint);
  };
  while (toks[i].kind !== 'end') {
    if (toks[i].kind === ',') {
      i++;
      continue;
    }
    const name = toks[i];
    if (name.kind === ')') fail(name, 'unbalanced parenthesis: ")" without a matching "("', 'remove it; arguments follow a layer name: conv(8,3)');
    if (name.kind !== 'name') fail(name, `expected a layer name, got ${JSON.stringify(name.text)}`, knownLayersHint());
    i++;
    const args: Arg[] = [];
    let end = name.pos + name.text.length;
    if (toks[i].kind === '(') {
      const open = toks[i++];
      for (;;) {
        const t = toks[i];
        if (t.kind === ')') {
          end = t.pos + 1;
          i++;
          break;
        }
        if (t.kind === 'end') fail(open, `unbalanced parenthesis: "(" after ${name.text} is never closed`, `close it: ${name.text}(...)`);
        if (args.length > 0) {
          if (t.kind !== ',') {
            // a missing ")" shows up as the next layer name inside the list
            if (t.kind === 'name' && toks[i + 1].kind !== '=') {
              fail(open, `unbalanced parenthesis: "(" after ${name.text} is not closed before ${JSON.stringify(t.text)}`, `close it: ${name.text}(...)`);
            }
            fail(t, `expected "," or ")" in the arguments of ${name.text}, got ${JSON.stringify(t.text)}`);
          }
          i++;
        }
        const v = toks[i];
        if (v.kind === 'name' && toks[i + 1].kind === '=') {
          const val = toks[i + 2];
          if (val.kind === '(') fail(val, `unexpected "(" in the arguments of ${name.text}`, 'write a height x width pair as HxW, e.g. 3x2');
          if (!isValue(val)) fail(v, `missing value for ${v.text}= in ${name.text}`);
          args.push({ key: v.text, keyTok: v, value: val });
          i += 3;
        } else if (isValue(v)) {
          args.push({ value: v });
          i++;
        } else if (v.kind === '(') {
          fail(v, `unexpected "(" in the arguments of ${name.text}`, 'write a height x width pair as HxW, e.g. 3x2');
        } else if (v.kind === 'end') {
          fail(open, `unbalanced parenthesis: "(" after ${name.text} is never closed`, `close it: ${name.text}(...)`);
        } else {
          fail(v, `expected an argument to ${name.text}, got ${JSON.stringify(v.text)}`);
        }
      }
    }
    calls.push({ name, args, pos: name.pos, length: end - name.pos });
  }
  if (calls.length === 0) throw new ArchError('no layers given', spec, 1, Math.max(1, spec.length), `for example: --arch "${CNN_ARCH}"`);
  return calls;
}

function isValue(t: Token): boolean {
  return t.kind === 'number' || t.kind === 'pair' || t.kind === 'name';
}

// ---- semantics: the known layers, their arguments and shape rules ----

type Pair = [number, number];

/** Typed access to one call's arguments; every failure points at the offending token. */
class Args {
  private byName = new Map<string, Arg>();

  constructor(
    private readonly spec: string,
    private readonly call: LayerCall,
    private readonly def: LayerDef,
  ) {
    const { name } = call;
    let positional = 0;
    let sawKeyword = false;
    for (const a of call.args) {
      if (a.key === undefined) {
        if (sawKeyword) this.fail(a.value, `positional argument after a keyword argument in ${name.text}`, this.usage());
        const pname = def.positional[positional++];
        if (pname === undefined) {
          const n = def.positional.length;
          this.fail(a.value, `${name.text} takes ${n === 0 ? 'no' : `at most ${n}`} positional argument${n === 1 ? '' : 's'}, got another: ${a.value.text}`, this.usage());
        }
        this.byName.set(pname!, a);
      } else {
        sawKeyword = true;
        const all = [...def.positional, ...def.keywords];
        if (!all.includes(a.key)) {
          const near = closest(a.key, all);
          this.fail(a.keyTok!, `unknown keyword "${a.key}" for ${name.text}${near ? ` (did you mean "${near}"?)` : ''}`, this.usage());
        }
        if (this.byName.has(a.key)) this.fail(a.keyTok!, `${a.key} given twice in ${name.text}`, this.usage());
        this.byName.set(a.key, a);
      }
    }
    const missing = def.required.filter((r) => !this.byName.has(r));
    if (missing.length > 0) {
      throw new ArchError(`${name.text} is missing its ${missing.join(' and ')} argument${missing.length > 1 ? 's' : ''}`, spec, call.pos + 1, call.length, this.usage());
    }
  }

  /** The call's text in the spec, e.g. "linear(10)". */
  source(): string {
    return this.spec.slice(this.call.pos, this.call.pos + this.call.length);
  }

  usage(): string {
    return `usage: ${this.def.usage}`;
  }

  fail(t: Token, problem: string, hint?: string): never {
    throw new ArchError(problem, this.spec, t.pos + 1, t.text.length || 1, hint);
  }

  has(key: string): boolean {
    return this.byName.has(key);
  }

  token(key: string): Token | undefined {
    return this.byName.get(key)?.value;
  }

  int(key: string, min: number, dflt?: number): number {
    const a = this.byName.get(key);
    if (!a) return dflt!;
    const v = Number(a.value.text);
    if (a.value.kind !== 'number' || !Number.isInteger(v) || v < min) {
      this.fail(a.value, `${key} of ${this.call.name.text} must be ${describeMin(min)}, got ${a.value.text}`, this.usage());
    }
    return v;
  }

  pair(key: string, min: number, dflt?: Pair): Pair {
    const a = this.byName.get(key);
    if (!a) return dflt!;
    const t = a.value;
    let p: number[] | undefined;
    if (t.kind === 'pair') p = t.text.split('x').map(Number);
    else if (t.kind === 'number' && Number.isInteger(Number(t.text))) p = [Number(t.text), Number(t.text)];
    if (!p || !p.every((d) => d >= min)) {
      this.fail(t, `${key} of ${this.call.name.text} must be ${describeMin(min)} or HxW of them, got ${t.text}`, this.usage());
    }
    return [p![0], p![1]];
  }

  bool(key: string, dflt: boolean): boolean {
    const a = this.byName.get(key);
    if (!a) return dflt;
    const s = a.value.text.toLowerCase();
    if (a.value.kind !== 'name' || (s !== 'true' && s !== 'false')) {
      this.fail(a.value, `${key} of ${this.call.name.text} must be true or false, got ${a.value.text}`, this.usage());
    }
    return s === 'true';
  }

  prob(key: string, dflt: number): number {
    const a = this.byName.get(key);
    if (!a) return dflt;
    const v = Number(a.value.text);
    if (a.value.kind !== 'number' || !(v >= 0 && v <= 1)) {
      this.fail(a.value, `${key} of ${this.call.name.text} must be a probability between 0 and 1, got ${a.value.text}`, this.usage());
    }
    return v;
  }
}

/** A sample shape shown with its batch dimension: [N, 16, 28, 28]. */
function batchShape(shape: readonly number[]): string {
  return `[N, ${shape.join(', ')}]`;
}

function describeMin(min: number): string {
  return min === 1 ? 'a positive integer' : min === 0 ? 'a non-negative integer' : `an integer >= ${min}`;
}

interface LayerDef {
  positional: string[];
  required: string[];
  keywords: string[];
  usage: string;
  /** Builds the spec for a sample of shape `shape` (no batch dimension); throws ArchError on misfits. */
  build(a: Args, shape: readonly number[], call: LayerCall): LayerSpec;
}

/** The sample shape must be [C, H, W] for convolution and pooling. */
function needImage(a: Args, call: LayerCall, shape: readonly number[]): void {
  if (shape.length !== 3) {
    a.fail(call.name, `${call.name.text} needs an image input [C, H, W], but the input here is ${batchShape(shape)}`,
      `put ${call.name.text} before flatten and linear`);
  }
}

/** PyTorch's window check: the (dilated) kernel must fit inside the padded input. */
function checkWindow(a: Args, call: LayerCall, shape: readonly number[], k: Pair, pad: Pair, dil: Pair): void {
  const at = a.token('kernel') ?? call.name;
  const [, h, w] = shape;
  const extH = dil[0] * (k[0] - 1) + 1, extW = dil[1] * (k[1] - 1) + 1;
  if (extH > h + 2 * pad[0] || extW > w + 2 * pad[1]) {
    const dilNote = dil[0] === 1 && dil[1] === 1 ? '' : ` (dilated to ${extH}x${extW})`;
    a.fail(at, `${call.name.text} kernel ${k[0]}x${k[1]}${dilNote} is larger than its input ${h}x${w}` +
      (pad[0] || pad[1] ? ` padded to ${h + 2 * pad[0]}x${w + 2 * pad[1]}` : ''),
    'use a smaller kernel, add padding, or pool less before this layer');
  }
}

const LAYERS: Record<string, LayerDef> = {
  conv: {
    positional: ['out', 'kernel'],
    required: ['out', 'kernel'],
    keywords: ['stride', 'padding', 'dilation', 'groups', 'bias'],
    usage: 'conv(out, kernel, stride=1, padding=0|same|valid, dilation=1, groups=1, bias=true), sizes N or HxW',
    build(a, shape, call) {
      needImage(a, call, shape);
      const outChannels = a.int('out', 1);
      const kernelSize = a.pair('kernel', 1);
      const stride = a.pair('stride', 1, [1, 1]);
      const dilation = a.pair('dilation', 1, [1, 1]);
      const groups = a.int('groups', 1, 1);
      const bias = a.bool('bias', true);
      const pt = a.token('padding');
      const named = pt?.kind === 'name' ? pt.text : undefined;
      if (named !== undefined && named !== 'same' && named !== 'valid') {
        a.fail(pt!, `padding of conv must be a non-negative integer, HxW, same or valid, got ${named}`, a.usage());
      }
      if (named === 'same' && (stride[0] !== 1 || stride[1] !== 1)) {
        a.fail(pt!, 'padding=same is not supported for strided convolutions (as in PyTorch)', 'use stride=1, or give the padding as a number');
      }
      const padding: Pair | 'same' | 'valid' = named === 'same' || named === 'valid' ? named : a.pair('padding', 0, [0, 0]);
      const inChannels = shape[0];
      const undivided = ([['inChannels', inChannels], ['outChannels', outChannels]] as const).filter(([, n]) => n % groups !== 0);
      if (undivided.length > 0) {
        a.fail(a.token('groups')!, `groups=${groups} does not divide ${undivided.map(([w, n]) => `${w} ${n}`).join(' / ')} of ${call.name.text}`,
          `groups must divide both the input channels (${inChannels}) and the output channels (${outChannels}); groups=1 always does`);
      }
      // 'same' pads by the dilated kernel extent, so its window always fits
      if (padding !== 'same') checkWindow(a, call, shape, kernelSize, padding === 'valid' ? [0, 0] : padding, dilation);
      return { type: 'Conv2d', inChannels, outChannels, kernelSize, stride, padding, dilation, groups, bias };
    },
  },
  maxpool: {
    positional: ['kernel'],
    required: ['kernel'],
    keywords: ['stride', 'padding', 'dilation', 'ceil'],
    usage: 'maxpool(kernel, stride=kernel, padding=0, dilation=1, ceil=false), sizes N or HxW',
    build(a, shape, call) {
      needImage(a, call, shape);
      const kernelSize = a.pair('kernel', 1);
      const stride = a.pair('stride', 1, kernelSize);
      const padding = a.pair('padding', 0, [0, 0]);
      const dilation = a.pair('dilation', 1, [1, 1]);
      const ceilMode = a.bool('ceil', false);
      if (padding[0] > kernelSize[0] / 2 || padding[1] > kernelSize[1] / 2) {
        a.fail(a.token('padding')!, `padding of maxpool must be at most half the kernel (${kernelSize[0]}x${kernelSize[1]}), got ${padding[0]}x${padding[1]}`, a.usage());
      }
      checkWindow(a, call, shape, kernelSize, padding, dilation);
      return { type: 'MaxPool2d', kernelSize, stride, padding, dilation, ceilMode };
    },
  },
  linear: {
    positional: ['out'],
    required: ['out'],
    keywords: ['bias'],
    usage: 'linear(out, bias=true)',
    build(a, shape, call) {
      if (shape.length !== 1) {
        a.fail(call.name, `a flatten is missing before ${call.name.text}: its input is ${batchShape(shape)}, but linear needs [N, features]`,
          `insert flatten before ${a.source()}`);
      }
      return { type: 'Linear', inFeatures: shape[0], outFeatures: a.int('out', 1), bias: a.bool('bias', true) };
    },
  },
  dropout: {
    positional: ['p'],
    required: [],
    keywords: [],
    usage: 'dropout(p=0.5)',
    build: (a) => ({ type: 'Dropout', p: a.prob('p', 0.5) }),
  },
  relu: { positional: [], required: [], keywords: [], usage: 'relu', build: () => ({ type: 'ReLU' }) },
  flatten: { positional: [], required: [], keywords: [], usage: 'flatten', build: () => ({ type: 'Flatten', startDim: 1, endDim: -1 }) },
  softmax: { positional: [], required: [], keywords: [], usage: 'softmax', build: () => ({ type: 'Softmax', dim: 1 }) },
  logsoftmax: { positional: [], required: [], keywords: [], usage: 'logsoftmax', build: () => ({ type: 'LogSoftmax', dim: 1 }) },
};

function knownLayersHint(): string {
  return `known layers: ${Object.keys(LAYERS).join(', ')} (${ARCH_GRAMMAR})`;
}

function closest(word: string, options: readonly string[]): string | undefined {
  let best: string | undefined, bestD = 3;
  const w = word.toLowerCase();
  for (const o of options) {
    // a prefix match counts as close: ceil_mode -> ceil, conv2d -> conv
    const d = w.length > 1 && (w.startsWith(o) || o.startsWith(w)) ? 1 : editDistance(w, o);
    if (d < bestD) [best, bestD] = [o, d];
  }
  return best;
}

function editDistance(a: string, b: string): number {
  const row = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    let diag = row[0];
    row[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const up = row[j];
      row[j] = Math.min(row[j] + 1, row[j - 1] + 1, diag + (a[i - 1] === b[j - 1] ? 0 : 1));
      diag = up;
    }
  }
  return row[b.length];
}

// ---- public API ----

export interface ArchLayer {
  spec: LayerSpec;
  /** Output shape of one sample (no batch dimension). */
  outputShape: number[];
  /** The layer's text in the --arch string, e.g. "conv(16,3,padding=1)". */
  source: string;
}

/**
 * Parses an --arch string into layer specs with every layer's output shape, for samples of shape
 * `inputShape` ([C, H, W], no batch dimension); the model must end in [N, classes].
 */
export function parseArchLayers(spec: string, inputShape: readonly number[] = [1, 28, 28], classes = 10): ArchLayer[] {
  if (inputShape.length === 0 || !inputShape.every((d) => Number.isInteger(d) && d >= 1)) {
    throw new ConfigError(`parseArch: inputShape must be positive integers such as [1, 28, 28], got ${fmtShape(inputShape)}`);
  }
  const calls = parseCalls(spec);
  // Layers are built only to ask their outputShape: draw their weights from a private RNG so
  // parsing leaves the seeded global one untouched.
  const rng = new Rng(0);
  let shape = [...inputShape];
  const out: ArchLayer[] = [];
  for (const call of calls) {
    const def = LAYERS[call.name.text];
    if (!def) {
      const near = closest(call.name.text, Object.keys(LAYERS));
      throw new ArchError(`unknown layer "${call.name.text}"`, spec, call.name.pos + 1, call.name.text.length,
        `${near ? `did you mean "${near}"? ` : ''}${knownLayersHint()}`);
    }
    const args = new Args(spec, call, def);
    const layerSpec = def.build(args, shape, call);
    try {
      shape = buildLayer(layerSpec, rng).outputShape([1, ...shape]).slice(1);
    } catch (e) {
      if (!(e instanceof MnistError)) throw e;
      throw new ArchError(`${call.name.text} does not fit here: ${e.message}`, spec, call.pos + 1, call.length, e.hint);
    }
    out.push({ spec: layerSpec, outputShape: shape, source: spec.slice(call.pos, call.pos + call.length) });
  }
  const last = calls[calls.length - 1];
  if (shape.length !== 1 || shape[0] !== classes) {
    const fix = shape.length === 1 ? `end with linear(${classes})` : `end with flatten linear(${classes})`;
    throw new ArchError(`the model's output is ${batchShape(shape)}, but it must be [N, ${classes}] (one score per class)`,
      spec, last.pos + 1, last.length, fix);
  }
  return out;
}

/**
 * Parses an --arch string (grammar in ARCH_GRAMMAR) into layer specs for samples of shape
 * `inputShape`; throws an ArchError pointing at the offending token.
 */
export function parseArch(spec: string, inputShape: readonly number[] = [1, 28, 28], classes = 10): LayerSpec[] {
  return parseArchLayers(spec, inputShape, classes).map((l) => l.spec);
}

// ---- specs back to text ----

function pairText(v: unknown): string {
  const p = Array.isArray(v) ? (v as number[]) : [v as number, v as number];
  return p[0] === p[1] ? `${p[0]}` : `${p[0]}x${p[1]}`;
}

function isPair(v: unknown, n: number): boolean {
  const p = Array.isArray(v) ? v : [v, v];
  return p[0] === n && p[1] === n;
}

/** Writes layer specs as an --arch string that parses back to the same specs (for the same input). */
export function formatArch(specs: readonly LayerSpec[]): string {
  return specs.map(formatLayer).join(' ');
}

function formatLayer(s: LayerSpec): string {
  const args: string[] = [];
  switch (s.type) {
    case 'Conv2d':
      args.push(`${s.outChannels}`, pairText(s.kernelSize));
      if (!isPair(s.stride ?? 1, 1)) args.push(`stride=${pairText(s.stride)}`);
      if (typeof s.padding === 'string') args.push(`padding=${s.padding}`);
      else if (!isPair(s.padding ?? 0, 0)) args.push(`padding=${pairText(s.padding)}`);
      if (!isPair(s.dilation ?? 1, 1)) args.push(`dilation=${pairText(s.dilation)}`);
      if ((s.groups ?? 1) !== 1) args.push(`groups=${s.groups}`);
      if (s.bias === false) args.push('bias=false');
      return `conv(${args.join(',')})`;
    case 'MaxPool2d':
      args.push(pairText(s.kernelSize));
      if (s.stride != null && pairText(s.stride) !== pairText(s.kernelSize)) args.push(`stride=${pairText(s.stride)}`);
      if (!isPair(s.padding ?? 0, 0)) args.push(`padding=${pairText(s.padding)}`);
      if (!isPair(s.dilation ?? 1, 1)) args.push(`dilation=${pairText(s.dilation)}`);
      if (s.ceilMode === true) args.push('ceil=true');
      return `maxpool(${args.join(',')})`;
    case 'Linear':
      return s.bias === false ? `linear(${s.outFeatures},bias=false)` : `linear(${s.outFeatures})`;
    case 'Dropout':
      return `dropout(${s.p ?? 0.5})`;
    case 'ReLU':
      return 'relu';
    case 'Flatten':
      if ((s.startDim ?? 1) === 1 && (s.endDim ?? -1) === -1) return 'flatten';
      break;
    case 'Softmax':
    case 'LogSoftmax':
      if ((s.dim ?? 1) === 1) return s.type.toLowerCase();
      break;
  }
  throw new ConfigError(`formatArch: layer ${JSON.stringify(s)} has no --arch form`, `the --arch grammar covers: ${ARCH_GRAMMAR}`);
}
