// A tiny typed validator for the messages that cross the extension ↔ webview boundary. Both sides
// receive data they did not produce (postMessage, saved webview state), so every field is checked and
// the result is a fresh object holding only the known fields: nothing unvalidated reaches the UI or
// the extension. No dependencies, so the same file runs in node and in the browser bundle.

export type Result<T> = {readonly ok: true; readonly value: T} | {readonly ok: false; readonly error: string};

export interface Schema<T> {
    readonly parse: (value: unknown, path: string) => Result<T>;
}

/** Marks an object field that may be absent (undefined is treated as absent). */
export interface OptionalSchema<T> {
    readonly optional: true;
    readonly inner: Schema<T>;
}

export type Infer<S> = S extends Schema<infer T> ? T : S extends OptionalSchema<infer T> ? T : never;

type Shape = Readonly<Record<string, Schema<unknown> | OptionalSchema<unknown>>>;
type RequiredKeys<S extends Shape> = {[K in keyof S]: S[K] extends OptionalSchema<unknown> ? never : K}[keyof S];
type OptionalKeys<S extends Shape> = {[K in keyof S]: S[K] extends OptionalSchema<unknown> ? K : never}[keyof S];
type Flatten<T> = {[K in keyof T]: T[K]};
export type ObjectOf<S extends Shape> = Flatten<{readonly [K in RequiredKeys<S>]: Infer<S[K]>} & {readonly [K in OptionalKeys<S>]?: Infer<S[K]>}>;

const ok = <T>(value: T): Result<T> => ({ok: true, value});
const fail = <T>(path: string, expected: string, value: unknown): Result<T> => ({
    ok: false,
    error: `${path || "message"}: expected ${expected}, got ${describe(value)}`
});

function describe(value: unknown): string {
    if (value === null) return "null";
    if (Array.isArray(value)) return `an array of ${value.length}`;
    if (typeof value === "string") return `a string of ${value.length} characters`;
    if (typeof value === "number") return String(value);
    return typeof value;
}

export function isRecord(value: unknown): value is Readonly<Record<string, unknown>> {
    return typeof value === "object" && value !== null && !Array.isArray(value);
}

export function str(options: {readonly maxLength?: number; readonly minLength?: number} = {}): Schema<string> {
    const {maxLength = 10_000, minLength = 0} = options;
    return {
        parse: (value, path) =>
            typeof value === "string" && value.length <= maxLength && value.length >= minLength
                ? ok(value)
                : fail(path, `a string of ${minLength} to ${maxLength} characters`, value)
    };
}

export interface NumberOptions {
    readonly min?: number;
    readonly max?: number;
    readonly integer?: boolean;
}

/** Finite numbers only: NaN and Infinity never mean anything in this protocol. */
export function num(options: NumberOptions = {}): Schema<number> {
    const {min = -Number.MAX_VALUE, max = Number.MAX_VALUE, integer = false} = options;
    const expected = `${integer ? "a whole number" : "a number"} from ${min} to ${max}`;
    return {
        parse: (value, path) =>
            typeof value === "number" && Number.isFinite(value) && value >= min && value <= max && (!integer || Number.isInteger(value))
                ? ok(value)
                : fail(path, expected, value)
    };
}

export function bool(): Schema<boolean> {
    return {parse: (value, path) => (typeof value === "boolean" ? ok(value) : fail(path, "true or false", value))};
}

export function literal<const T extends string | number | boolean | null>(...allowed: readonly T[]): Schema<T> {
    const expected = allowed.map((item) => JSON.stringify(item)).join(" or ");
    return {
        parse: (value, path) => (allowed.some((item) => item === value) ? ok(value as T) : fail(path, expected, value))
    };
}

export function nullable<T>(inner: Schema<T>): Schema<T | null> {
    return {parse: (value, path) => (value === null ? ok(null) : inner.parse(value, path))};
}

export function optional<T>(inner: Schema<T>): OptionalSchema<T> {
    return {optional: true, inner};
}

export function array<T>(item: Schema<T>, options: {readonly maxLength: number; readonly minLength?: number}): Schema<T[]> {
    const {maxLength, minLength = 0} = options;
    return {
        parse: (value, path) => {
            if (!Array.isArray(value) || value.length > maxLength || value.length < minLength)
                return fail(path, `an array of ${minLength} to ${maxLength} items`, value);
            const items: T[] = [];
            for (let i = 0; i < value.length; i++) {
                const parsed = item.parse(value[i], `${path}[${i}]`);
                if (!parsed.ok) return parsed;
                items.push(parsed.value);
            }
            return ok(items);
        }
    };
}

function isOptional(field: Schema<unknown> | OptionalSchema<unknown>): field is OptionalSchema<unknown> {
    return "optional" in field && field.optional;
}

/** Unknown keys are dropped rather than refused, so an older webview tolerates a newer extension's extra fields. */
export function object<const S extends Shape>(shape: S): Schema<ObjectOf<S>> {
    return {
        parse: (value, path) => {
            if (!isRecord(value)) return fail(path, "an object", value);
            const result: Record<string, unknown> = {};
            for (const [key, field] of Object.entries(shape)) {
                const fieldPath = path ? `${path}.${key}` : key;
                const raw = value[key];
                if (isOptional(field)) {
                    if (raw === undefined) continue;
                    const parsed = field.inner.parse(raw, fieldPath);
                    if (!parsed.ok) return parsed;
                    result[key] = parsed.value;
                } else {
                    const parsed = field.parse(raw, fieldPath);
                    if (!parsed.ok) return parsed;
                    result[key] = parsed.value;
                }
            }
            // Safe: every required key of S was parsed by its own schema above, optional ones when present.
            return ok(result as ObjectOf<S>);
        }
    };
}

/** Checks a rule that spans fields (e.g. "kept layers are ascending") after the shape is known to be right. */
export function refine<T>(inner: Schema<T>, rule: (value: T) => string | undefined): Schema<T> {
    return {
        parse: (value, path) => {
            const parsed = inner.parse(value, path);
            if (!parsed.ok) return parsed;
            const problem = rule(parsed.value);
            return problem === undefined ? parsed : {ok: false, error: `${path || "message"}: ${problem}`};
        }
    };
}

/**
 * A union keyed by a string field such as `type`; picking the member by its tag gives errors that name
 * the real problem instead of "matched none of 9 alternatives".
 */
export function tagged<T extends {readonly type: string}>(members: {readonly [K in T["type"]]: Schema<Extract<T, {readonly type: K}>>}): Schema<T> {
    const known = Object.keys(members);
    return {
        parse: (value, path) => {
            if (!isRecord(value)) return fail(path, 'an object with a "type"', value);
            const tag = value["type"];
            if (typeof tag !== "string" || !Object.hasOwn(members, tag)) return fail(path ? `${path}.type` : "type", `one of ${known.join(", ")}`, tag);
            const member: Schema<T> = (members as Readonly<Record<string, Schema<T>>>)[tag];
            return member.parse(value, path);
        }
    };
}
