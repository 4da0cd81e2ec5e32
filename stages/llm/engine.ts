// The LLM engine contract: a response's context in, a stream of text deltas and tool calls out.
import type { ContextItem, ToolSpec } from '../../schemas/index.ts';

export interface LlmRequest {
  readonly instructions: string;
  readonly context: readonly ContextItem[];
  readonly tools: readonly ToolSpec[];
  readonly toolChoice: 'auto' | 'none' | 'required' | { name: string };
  readonly temperature: number;
  readonly maxOutputTokens: number | null;
  readonly signal: AbortSignal;
}

export type LlmChunk =
  | { type: 'text'; delta: string }
  | { type: 'tool_call'; index: number; callId: string; name: string; arguments: string }
  | { type: 'done'; finishReason: string; usage: { inputTokens: number; outputTokens: number } };

export interface LlmEngine {
  readonly name: string;
  readonly capabilities: { readonly tools: boolean; readonly streaming: boolean };
  generate(req: LlmRequest): AsyncIterable<LlmChunk>;
  close(): Promise<void>;
}

/** Rough token estimate for engines that report no usage (4 characters per token). */
export function estimateTokens(text: string): number {
  return Math.ceil(text.length / 4);
}
