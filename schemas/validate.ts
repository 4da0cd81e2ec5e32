// Compiled validators that explain failures the way OpenAI's Realtime service does: a code
// (unknown_parameter, missing_required_parameter, invalid_type, invalid_value, …), a message in
// OpenAI's wording, and `param` as a dotted path ("session.audio.input.format.rate").
import { Kind, type Static, type TSchema } from '@sinclair/typebox';
import { TypeCompiler } from '@sinclair/typebox/compiler';
import { Value, ValueErrorType, type ValueError } from '@sinclair/typebox/value';

export interface ValidationFailure {
  readonly code: string;
  readonly message: string;
  readonly param: string | null;
}

export type Validated<T> = { ok: true; value: T } | { ok: false; error: ValidationFailure };

export interface Validator<T> {
  check(value: unknown): value is T;
  validate(value: unknown): Validated<T>;
}

export function compileValidator<S extends TSchema>(schema: S): Validator<Static<S>> {
  const compiled = TypeCompiler.Compile(schema);
  return {
    check: (value): value is Static<S> => compiled.Check(value),
    validate(value) {
      if (compiled.Check(value)) return { ok: true, value };
      return { ok: false, error: explain(schema, value, '') };
    },
  };
}

/** `/session/tools/0/name` -> `session.tools[0].name` */
export function toParam(pointer: string): string | null {
  if (!pointer) return null;
  let out = '';
  for (const seg of pointer.split('/').slice(1)) {
    const s = seg.replace(/~1/g, '/').replace(/~0/g, '~');
    out += /^\d+$/.test(s) ? `[${s}]` : out ? `.${s}` : s;
  }
  return out;
}

function describe(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'an array';
  if (Number.isInteger(v)) return 'an integer';
  switch (typeof v) {
    case 'string':
      return 'a string';
    case 'number':
      return 'a decimal';
    case 'boolean':
      return 'a boolean';
    case 'object':
      return 'an object';
    default:
      return typeof v;
  }
}

function literalValues(schema: TSchema): unknown[] | undefined {
  if (schema[Kind] === 'Literal') return [schema['const']];
  if (schema[Kind] === 'Union') {
    const all: unknown[] = [];
    for (const s of variantsOf(schema)) {
      const lits = literalValues(s);
      if (!lits) return undefined;
      all.push(...lits);
    }
    return all;
  }
  return undefined;
}

function listValues(values: unknown[]): string {
  const q = values.map((v) => `'${String(v)}'`);
  return q.length <= 1 ? (q[0] ?? '') : `${q.slice(0, -1).join(', ')} and ${q[q.length - 1]}`;
}

function expectedName(schema: TSchema): string {
  switch (schema[Kind]) {
    case 'String':
      return 'a string';
    case 'Integer':
      return 'an integer';
    case 'Number':
      return 'a decimal';
    case 'Boolean':
      return 'a boolean';
    case 'Array':
      return 'an array';
    case 'Object':
    case 'Record':
      return 'an object';
    default:
      return 'a valid value';
  }
}

/** Union members, with nested unions (Nullable(Union[...])) flattened. */
function variantsOf(schema: TSchema): TSchema[] {
  if (schema[Kind] !== 'Union') return [schema];
  return (schema['anyOf'] as TSchema[]).flatMap(variantsOf);
}

function fitsKind(s: TSchema, value: unknown): boolean {
  const kind = s[Kind];
  if (value === null) return kind === 'Null';
  if (Array.isArray(value)) return kind === 'Array';
  switch (typeof value) {
    case 'number':
      return kind === 'Number' || kind === 'Integer' || (kind === 'Literal' && typeof s['const'] === 'number');
    case 'string':
      return kind === 'String' || (kind === 'Literal' && typeof s['const'] === 'string');
    case 'boolean':
      return kind === 'Boolean' || (kind === 'Literal' && typeof s['const'] === 'boolean');
    case 'object':
      return kind === 'Object' || kind === 'Record';
    default:
      return false;
  }
}

/**
 * The union member a failing value was meant to be: the only member of its JSON type, or, among
 * objects, the one whose literal `type` it names. Its own errors then point at the real field.
 */
function pickVariant(schema: TSchema, value: unknown): TSchema | undefined {
  if (schema[Kind] !== 'Union') return undefined;
  const candidates = variantsOf(schema).filter((s) => fitsKind(s, value));
  if (candidates.length === 1) {
    const only = candidates[0]!;
    return only[Kind] === 'Literal' ? undefined : only;
  }
  if (!value || typeof value !== 'object' || Array.isArray(value)) return undefined;
  const t = (value as { type?: unknown }).type;
  return candidates.find((s) => {
    const ts = (s['properties'] as Record<string, TSchema> | undefined)?.['type'];
    return ts !== undefined && ts[Kind] === 'Literal' && ts['const'] === t;
  });
}

function unionTypes(schema: TSchema): unknown[] {
  const out: unknown[] = [];
  for (const s of variantsOf(schema)) {
    const ts = (s['properties'] as Record<string, TSchema> | undefined)?.['type'];
    if (ts && ts[Kind] === 'Literal') out.push(ts['const']);
  }
  return out;
}

/** Errors looked at to pick the one to report (a failing value can have very many). */
const ERRORS_EXAMINED = 32;

/**
 * The error to report: a wrong `type` discriminator when there is one (a `{type: 'mcp'}` tool is
 * an unsupported kind of tool, not a function tool missing its name), else the first.
 */
function primaryError(schema: TSchema, value: unknown): ValueError | undefined {
  let first: ValueError | undefined;
  let seen = 0;
  for (const e of Value.Errors(schema, value)) {
    first ??= e;
    if (e.type === ValueErrorType.Literal && e.path.endsWith('/type')) return e;
    if (++seen >= ERRORS_EXAMINED) break;
  }
  return first;
}

function explain(schema: TSchema, value: unknown, base: string): ValidationFailure {
  const first = primaryError(schema, value);
  if (!first) return { code: 'invalid_value', message: 'Invalid value.', param: toParam(base) };
  const pointer = base + first.path;
  const param = toParam(pointer);
  const name = param ?? 'event';
  switch (first.type) {
    case ValueErrorType.ObjectAdditionalProperties:
      return { code: 'unknown_parameter', message: `Unknown parameter: '${name}'.`, param };
    case ValueErrorType.ObjectRequiredProperty:
      return { code: 'missing_required_parameter', message: `Missing required parameter: '${name}'.`, param };
    case ValueErrorType.Union: {
      const variant = pickVariant(first.schema, first.value);
      if (variant) return explain(variant, first.value, pointer);
      const lits = literalValues(first.schema);
      if (lits) return invalidValue(first.value, lits, param);
      // A string where the union's strings are all literals ('auto' | 'none' | {…}): name them.
      if (typeof first.value === 'string') {
        const strings = variantsOf(first.schema).filter((v) => fitsKind(v, first.value));
        if (strings.length && strings.every((v) => v[Kind] === 'Literal')) return invalidValue(first.value, strings.map((v) => v['const']), param);
      }
      const types = unionTypes(first.schema);
      if (types.length && first.value && typeof first.value === 'object' && !Array.isArray(first.value)) {
        const t = (first.value as { type?: unknown }).type;
        if (t === undefined) {
          const p = toParam(`${pointer}/type`);
          return { code: 'missing_required_parameter', message: `Missing required parameter: '${p}'.`, param: p };
        }
        return invalidValue(t, types, toParam(`${pointer}/type`));
      }
      return { code: 'invalid_type', message: `Invalid type for '${name}': got ${describe(first.value)} instead.`, param };
    }
    case ValueErrorType.Literal:
      return invalidValue(first.value, [first.schema['const']], param);
    case ValueErrorType.IntegerMinimum:
    case ValueErrorType.NumberMinimum:
    case ValueErrorType.IntegerMaximum:
    case ValueErrorType.NumberMaximum: {
      const below = first.type === ValueErrorType.IntegerMinimum || first.type === ValueErrorType.NumberMinimum;
      const kind = Number.isInteger(first.value) && first.schema[Kind] === 'Integer' ? 'integer' : 'decimal';
      const bound = below ? first.schema['minimum'] : first.schema['maximum'];
      return {
        code: `${kind}_${below ? 'below_min' : 'above_max'}_value`,
        message: `Invalid '${name}': ${kind} ${below ? 'below minimum' : 'above maximum'} value. Expected a value ${below ? '>=' : '<='} ${bound}, but got ${String(first.value)} instead.`,
        param,
      };
    }
    case ValueErrorType.StringMaxLength:
      return {
        code: 'string_above_max_length',
        message: `Invalid '${name}': string too long. Expected a string with maximum length ${first.schema['maxLength']}, but got a string with length ${String((first.value as string).length)} instead.`,
        param,
      };
    case ValueErrorType.StringMinLength:
      return { code: 'string_below_min_length', message: `Invalid '${name}': string too short. Expected a string with minimum length ${first.schema['minLength']}.`, param };
    case ValueErrorType.ArrayMaxItems:
      return { code: 'array_above_max_length', message: `Invalid '${name}': array too long. Expected an array with maximum length ${first.schema['maxItems']}.`, param };
    case ValueErrorType.ArrayMinItems:
      return { code: 'array_below_min_length', message: `Invalid '${name}': array too short. Expected an array with minimum length ${first.schema['minItems']}.`, param };
    case ValueErrorType.StringPattern:
      return { code: 'invalid_value', message: `Invalid '${name}': string does not match pattern. Expected a string that matches the pattern '${first.schema['pattern']}'.`, param };
    case ValueErrorType.ObjectMaxProperties:
      return { code: 'object_above_max_properties', message: `Invalid '${name}': too many properties. Expected at most ${first.schema['maxProperties']}.`, param };
    default:
      return {
        code: 'invalid_type',
        message: `Invalid type for '${name}': expected ${expectedName(first.schema)}, but got ${describe(first.value)} instead.`,
        param,
      };
  }
}

function invalidValue(value: unknown, allowed: unknown[], param: string | null): ValidationFailure {
  return { code: 'invalid_value', message: `Invalid value: '${String(value)}'. Supported values are: ${listValues(allowed)}.`, param };
}
