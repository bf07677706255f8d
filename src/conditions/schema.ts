// The JSON Schema of the lingo (draft 2020-12 as Ajv reads it), compiled once. It checks shape only — field
// names, types, enums, list bounds — and tells condition types apart by `conditionType` (Ajv's discriminator,
// so an unknown type is one clear error, not one per branch). What needs more than shape (ABI fragments,
// values fitting their types, the chain, depth and leaf counts) is checked in validate.ts.
import Ajv, { type ErrorObject } from "ajv";
import { COMPARATORS, MAX_OPERANDS, MAX_PARAMETERS } from "./lingo";

const IDENTIFIER = "^[A-Za-z_$][A-Za-z0-9_$]{0,63}$";
const value = { type: ["string", "integer", "boolean"], maxLength: 256 };
const comparator = { enum: COMPARATORS };
const chain = { type: "integer", minimum: 1, maximum: Number.MAX_SAFE_INTEGER };
const abiParameter = {
  type: "object",
  additionalProperties: false,
  required: ["name", "type"],
  properties: {
    name: { type: "string", maxLength: 64 },
    type: { type: "string", maxLength: 32 },
    internalType: { type: "string", maxLength: 64 },
  },
};

const time = {
  type: "object",
  additionalProperties: false,
  required: ["conditionType", "method", "chain", "returnValueTest"],
  properties: {
    conditionType: { const: "time" },
    method: { const: "blocktime" },
    chain,
    returnValueTest: {
      type: "object",
      additionalProperties: false,
      required: ["comparator", "value"],
      properties: { comparator, value },
    },
  },
};

const contract = {
  type: "object",
  additionalProperties: false,
  required: ["conditionType", "chain", "contractAddress", "method", "parameters", "returnValueTest"],
  properties: {
    conditionType: { const: "contract" },
    chain,
    contractAddress: { type: "string", pattern: "^0x[0-9a-fA-F]{40}$" },
    standardContractType: { enum: ["ERC20", "ERC721"] },
    functionAbi: {
      type: "object",
      additionalProperties: false,
      required: ["name", "type", "stateMutability", "inputs", "outputs"],
      properties: {
        name: { type: "string", pattern: IDENTIFIER },
        type: { const: "function" },
        stateMutability: { enum: ["view", "pure"] },
        inputs: { type: "array", maxItems: MAX_PARAMETERS, items: abiParameter },
        outputs: { type: "array", minItems: 1, maxItems: 32, items: abiParameter },
      },
    },
    method: { type: "string", pattern: IDENTIFIER },
    parameters: { type: "array", maxItems: MAX_PARAMETERS, items: value },
    returnValueTest: {
      type: "object",
      additionalProperties: false,
      required: ["comparator", "value"],
      properties: { index: { type: "integer", minimum: 0, maximum: 31 }, comparator, value },
    },
  },
};

const compound = {
  type: "object",
  additionalProperties: false,
  required: ["conditionType", "operator", "operands"],
  properties: {
    conditionType: { const: "compound" },
    operator: { enum: ["and", "or", "not"] },
    operands: { type: "array", minItems: 1, maxItems: MAX_OPERANDS, items: { $ref: "#/$defs/condition" } },
  },
};

/** The schema of a `ConditionExpression`. */
export const CONDITIONS_SCHEMA = {
  $id: "https://umbral-kms/conditions/v1.json",
  type: "object",
  additionalProperties: false,
  required: ["version", "condition"],
  properties: {
    version: { type: "string", pattern: "^1\\.(0|[1-9][0-9]{0,5})\\.(0|[1-9][0-9]{0,5})$" },
    condition: { $ref: "#/$defs/condition" },
  },
  $defs: {
    condition: {
      type: "object",
      required: ["conditionType"],
      properties: { conditionType: { type: "string" } },
      discriminator: { propertyName: "conditionType" },
      oneOf: [time, contract, compound],
    },
  },
} as const;

const ajv = new Ajv({ allErrors: false, discriminator: true, strict: true, allowUnionTypes: true });
const validate = ajv.compile(CONDITIONS_SCHEMA);

/** What a field that fails its pattern should look like. */
const PATTERN_REASONS: Record<string, string> = {
  version: "must be a lingo version 1.x.y (this node reads major version 1)",
  contractAddress: "must be a 20-byte 0x-hex address",
  method: "must be a Solidity function name",
  name: "must be a Solidity function name",
};

/** `/condition/operands/1` → `$.condition.operands[1]`. */
export function jsonPath(pointer: string, extra?: string): string {
  const parts = pointer === "" ? [] : pointer.slice(1).split("/");
  if (extra !== undefined) parts.push(extra);
  return (
    "$" +
    parts
      .map((p) => p.replace(/~1/g, "/").replace(/~0/g, "~"))
      .map((p) => (/^\d+$/.test(p) ? `[${p}]` : /^[A-Za-z_$][\w$]*$/.test(p) ? `.${p}` : `[${JSON.stringify(p)}]`))
      .join("")
  );
}

/** The first schema violation of `input` as (path, reason), or undefined if the shape is right. */
export function schemaViolation(input: unknown): { path: string; reason: string } | undefined {
  if (validate(input)) return undefined;
  const error = validate.errors![0] as ErrorObject<string, Record<string, unknown>>;
  const { params } = error;
  switch (error.keyword) {
    case "additionalProperty":
    case "additionalProperties":
      return { path: jsonPath(error.instancePath, String(params.additionalProperty)), reason: "unknown field" };
    case "required":
      return { path: jsonPath(error.instancePath, String(params.missingProperty)), reason: "missing field" };
    case "discriminator":
      return params.error === "mapping"
        ? {
            path: jsonPath(error.instancePath, "conditionType"),
            reason: `unknown condition type ${JSON.stringify(params.tagValue)} (known: time, contract, compound)`,
          }
        : { path: jsonPath(error.instancePath, "conditionType"), reason: "must be a string" };
    case "enum":
      return {
        path: jsonPath(error.instancePath),
        reason: `must be one of ${(params.allowedValues as unknown[]).map((v) => JSON.stringify(v)).join(", ")}`,
      };
    case "type": {
      const types = ([] as string[]).concat(params.type as string | string[]);
      const listed = types.length > 1 ? `${types.slice(0, -1).join(", ")} or ${types.at(-1)}` : types[0];
      return {
        path: jsonPath(error.instancePath),
        reason: `must be ${/^[aeiou]/.test(listed) ? "an" : "a"} ${listed}`,
      };
    }
    case "const":
      return { path: jsonPath(error.instancePath), reason: `must be ${JSON.stringify(params.allowedValue)}` };
    case "pattern": {
      const field = error.instancePath.split("/").pop() ?? "";
      return { path: jsonPath(error.instancePath), reason: PATTERN_REASONS[field] ?? "is not well-formed" };
    }
    default:
      return { path: jsonPath(error.instancePath), reason: error.message ?? "is invalid" };
  }
}
