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

export interface ExampleCounts {
  ran: number;
  passed: number;
  failed: number;
}

export interface EndParams {
  sessionId: string;
  uri: string;
  outcome: string; // completed, failed_examples, stuck, budget, error, cancelled, conflict
  detail: string;
  lines: number;
  examples?: ExampleCounts; // the buffer's and the instruction's examples run on the final code
  tracePath: string;
  htmlPath: string;
}

/** How a session's outcome reads to the user: finished code that fails its examples says so. */
export function outcomeText(params: Pick<EndParams, 'outcome' | 'examples'>): string {
  const ex = params.examples;
  if (params.outcome === 'failed_examples') {
    return ex ? `fails ${ex.failed} of ${ex.ran} example${ex.ran === 1 ? '' : 's'}` : 'fails its examples';
  }
  if (params.outcome === 'completed' && ex && ex.ran > 0) {
    return `completed · ${ex.passed}/${ex.ran} examples pass`;
  }
  return params.outcome.replace(/_/g, ' ');
}
