// LLM through any OpenAI-compatible chat completions endpoint (OpenAI, Groq, Ollama, vLLM) with
// the official `openai` package, streaming. Tool calls are assembled from their streamed pieces
// and yielded whole. Retries are the job consumer's, so the SDK's own are off.
import OpenAI from 'openai';
import type { ChatCompletionMessageParam, ChatCompletionTool, ChatCompletionToolChoiceOption } from 'openai/resources/chat/completions';
import { CancelledError, EngineError, isRetryableStatus } from '../../lib/errors.ts';
import type { ContextItem } from '../../schemas/index.ts';
import { estimateTokens, type LlmEngine, type LlmRequest } from './engine.ts';

export function toChatMessages(instructions: string, context: readonly ContextItem[]): ChatCompletionMessageParam[] {
  const messages: ChatCompletionMessageParam[] = [];
  if (instructions) messages.push({ role: 'system', content: instructions });
  for (const item of context) {
    if (item.type === 'message') {
      messages.push({ role: item.role, content: item.text });
    } else if (item.type === 'function_call') {
      const last = messages[messages.length - 1];
      const call = { id: item.callId, type: 'function' as const, function: { name: item.name, arguments: item.arguments } };
      // Consecutive calls of one turn belong to one assistant message.
      if (last && last.role === 'assistant' && 'tool_calls' in last && last.tool_calls) last.tool_calls.push(call);
      else messages.push({ role: 'assistant', content: null, tool_calls: [call] });
    } else {
      messages.push({ role: 'tool', tool_call_id: item.callId, content: item.output });
    }
  }
  return messages;
}

function toolChoice(choice: LlmRequest['toolChoice']): ChatCompletionToolChoiceOption {
  return typeof choice === 'string' ? choice : { type: 'function', function: { name: choice.name } };
}

export function createOpenAiLlmEngine(opts: { baseUrl: string | undefined; apiKey: string | undefined; model: string; timeoutMs: number }): LlmEngine {
  const client = new OpenAI({ baseURL: opts.baseUrl, apiKey: opts.apiKey ?? 'unused', timeout: opts.timeoutMs, maxRetries: 0 });
  return {
    name: 'openai',
    capabilities: { tools: true, streaming: true },
    async *generate(req) {
      const tools: ChatCompletionTool[] = req.tools.map((t) => ({ type: 'function', function: { name: t.name, description: t.description, parameters: t.parameters } }));
      const messages = toChatMessages(req.instructions, req.context);
      let stream;
      try {
        stream = await client.chat.completions.create(
          {
            model: opts.model,
            messages,
            stream: true,
            stream_options: { include_usage: true },
            temperature: req.temperature,
            ...(req.maxOutputTokens ? { max_tokens: req.maxOutputTokens } : {}),
            ...(tools.length ? { tools, tool_choice: toolChoice(req.toolChoice) } : {}),
          },
          { signal: req.signal },
        );
      } catch (err) {
        throw mapError(err, req.signal);
      }
      const calls = new Map<number, { callId: string; name: string; arguments: string }>();
      let finishReason = 'stop';
      let usage: { inputTokens: number; outputTokens: number } | undefined;
      let produced = '';
      try {
        for await (const chunk of stream) {
          if (chunk.usage) usage = { inputTokens: chunk.usage.prompt_tokens, outputTokens: chunk.usage.completion_tokens };
          const choice = chunk.choices[0];
          if (!choice) continue;
          if (choice.finish_reason) finishReason = choice.finish_reason;
          const delta = choice.delta;
          if (delta?.content) {
            produced += delta.content;
            yield { type: 'text', delta: delta.content };
          }
          for (const tc of delta?.tool_calls ?? []) {
            const cur = calls.get(tc.index) ?? { callId: '', name: '', arguments: '' };
            if (tc.id) cur.callId = tc.id;
            if (tc.function?.name) cur.name += tc.function.name;
            if (tc.function?.arguments) cur.arguments += tc.function.arguments;
            calls.set(tc.index, cur);
          }
        }
      } catch (err) {
        throw mapError(err, req.signal);
      }
      // The SDK ends an aborted stream quietly; a cut-off answer must not look finished.
      if (req.signal.aborted) throw new CancelledError();
      for (const [index, c] of [...calls].sort((a, b) => a[0] - b[0])) {
        yield { type: 'tool_call', index, callId: c.callId || `call_${index}`, name: c.name, arguments: c.arguments || '{}' };
      }
      yield {
        type: 'done',
        finishReason,
        usage: usage ?? { inputTokens: estimateTokens(JSON.stringify(messages)), outputTokens: estimateTokens(produced) },
      };
    },
    close: async () => undefined,
  };
}

function mapError(err: unknown, signal: AbortSignal): Error {
  if (signal.aborted) return err instanceof CancelledError ? err : new CancelledError();
  const status = err instanceof OpenAI.APIError ? err.status : undefined;
  return new EngineError('openai-llm', status ? `upstream_${status}` : 'upstream_unreachable', `chat completion failed: ${(err as Error).message}`, {
    retryable: isRetryableStatus(status),
    cause: err,
  });
}
