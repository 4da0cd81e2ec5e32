// Server-side shapes: conversation items and responses as Parley holds them (GA shape), and the
// envelope every server event shares. The beta dialect renames types when it renders them.

export type ItemStatus = 'completed' | 'incomplete' | 'in_progress';

export type ItemContentPart =
  | { type: 'input_text'; text: string }
  | { type: 'input_audio'; transcript: string | null; audio?: string }
  | { type: 'input_image'; image_url: string; detail?: string }
  | { type: 'output_text'; text: string }
  | { type: 'output_audio'; transcript: string; audio?: string };

export interface ItemMessage {
  id: string;
  object: 'realtime.item';
  type: 'message';
  status: ItemStatus;
  role: 'user' | 'assistant' | 'system';
  content: ItemContentPart[];
}

export interface ItemFunctionCall {
  id: string;
  object: 'realtime.item';
  type: 'function_call';
  status: ItemStatus;
  call_id: string;
  name: string;
  arguments: string;
}

export interface ItemFunctionCallOutput {
  id: string;
  object: 'realtime.item';
  type: 'function_call_output';
  status: ItemStatus;
  call_id: string;
  output: string;
}

export type ConversationItem = ItemMessage | ItemFunctionCall | ItemFunctionCallOutput;

export type ResponseStatus = 'in_progress' | 'completed' | 'cancelled' | 'failed' | 'incomplete';

export interface ResponseStatusDetails {
  type: 'cancelled' | 'incomplete' | 'failed';
  reason?: 'turn_detected' | 'client_cancelled' | 'max_output_tokens' | 'content_filter';
  error?: { type: string; code: string };
}

export interface Usage {
  total_tokens: number;
  input_tokens: number;
  output_tokens: number;
  input_token_details: {
    text_tokens: number;
    audio_tokens: number;
    image_tokens: number;
    cached_tokens: number;
    cached_tokens_details: { text_tokens: number; audio_tokens: number; image_tokens: number };
  };
  output_token_details: { text_tokens: number; audio_tokens: number };
}

export interface ServerEvent {
  type: string;
  event_id: string;
  [field: string]: unknown;
}

export interface RealtimeErrorBody {
  type: 'invalid_request_error' | 'server_error';
  code: string | null;
  message: string;
  param: string | null;
  event_id: string | null;
}
