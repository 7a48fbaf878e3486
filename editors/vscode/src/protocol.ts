// The VIGOR-specific messages of the server (docs/editors.md, "Protocol"). Plain data, no VS Code.

/** Server command ids; the language client registers these itself, so the UI commands use `vigor.ui.*`. */
export const GENERATE = 'vigor.generate';
export const CANCEL = 'vigor.cancel';
export const OPEN_TRACE = 'vigor.openTrace';

export const STEP_NOTIFICATION = 'vigor/step';
export const END_NOTIFICATION = 'vigor/end';

export interface GenerateArgs {
  textDocument: { uri: string; version: number };
  position: { line: number; character: number };
  instruction?: string;
}

export interface GenerateResult {
  sessionId: string;
  anchor: number;
}

export interface StepParams {
  sessionId: string;
  uri: string;
  step: number;
  line: string | null;
  committed: string | null;
  candidates: { text: string | null; label: string | null; outcome: string | null; reason: string | null }[];
  serverMs?: number;
}

export interface EndParams {
  sessionId: string;
  uri: string;
  outcome: string; // completed, stuck, budget, error, cancelled, conflict
  detail: string;
  lines: number;
  tracePath: string;
  htmlPath: string;
}
