// What the live server sends the page: the model (layers, normalisation, parameters as base64
// float32) from GET /model.json, and during mnist-train --serve the server-sent events below.
import type { LayerSpec } from '../nn/module.ts';

/** A parameter tensor: shape and the little-endian bytes of its float32 values, base64. */
export interface LiveTensor {
  shape: number[];
  b64: string;
}

/** The state_dict tensors (parameters, then batch-norm running statistics) under their keys ("0.weight"). */
export type LiveParams = Record<string, LiveTensor>;

export interface LiveEpoch {
  epoch: number;
  trainLoss: number;
  trainAccuracy: number;
  testLoss: number;
  testAccuracy: number;
}

/** Mean training loss and accuracy over the batches since the previous point. */
export interface LivePoint {
  /** Batches trained since the run began (a resumed run counts from its start). */
  step: number;
  epoch: number;
  batch: number;
  batches: number;
  loss: number;
  accuracy: number;
}

/** New parameters, pushed every few seconds and at the end of every epoch. */
export interface LiveState {
  /** Counts the snapshots: the page redraws each one once. */
  version: number;
  epoch: number;
  batch: number;
  params: LiveParams;
}

export interface LiveModel {
  mode: 'serve' | 'train';
  /** What the page's title names: the weights file, or the run. */
  title: string;
  model: { name: string; arch?: string; layers: LayerSpec[] };
  input: { shape: number[]; mean: number; std: number };
  classes: string[];
  dataset: string;
  state: LiveState;
  /** mnist-train --serve: the run so far, for a page opened midway. */
  training?: {
    epochs: number;
    batches: number;
    out: string;
    /** A few fixed test digits (28×28 grey bytes, base64) redrawn with every snapshot. */
    samples: { label: number; b64: string }[];
    points: LivePoint[];
    history: LiveEpoch[];
    done?: LiveDone;
  };
}

export interface LiveSync {
  points: LivePoint[];
  history: LiveEpoch[];
  state: LiveState;
  done?: LiveDone;
}

export interface LiveDone {
  /** True when Ctrl-C stopped the run. */
  stopped: boolean;
  epoch: number;
}

/** Server-sent event names and their JSON payloads. */
export interface LiveEvents {
  /** First on every stream: the run so far, so nothing between GET /model.json and the stream is missed. */
  sync: LiveSync;
  point: LivePoint;
  epoch: LiveEpoch;
  state: LiveState;
  done: LiveDone;
}

/** What POST /prepare answers for a dropped picture: mnist-predict's 28×28, or why there is none. */
export interface PreparedPicture {
  /** 784 grey bytes, 0 = background, 255 = ink, row-major. */
  pixels?: number[];
  reason?: string;
  width?: number;
  height?: number;
}

