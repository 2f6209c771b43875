// Reads a CloudFormation YAML template (short-form tags such as !Ref, !Sub, !If become their
// long forms, as CloudFormation itself reads them) and evaluates the intrinsic functions a template
// uses for given parameter values, so tests can compare what a stack would create with what the
// code expects. Only what deploy/cloudformation.yaml uses is evaluated; anything else throws.
import { parse, type Tags } from 'yaml';

const FN_TAGS = ['Base64', 'Cidr', 'FindInMap', 'GetAZs', 'If', 'ImportValue', 'Join', 'Select', 'Split', 'Sub', 'Equals', 'Not', 'Or', 'And', 'Transform'];

function tagsFor(): Tags {
  const tags: Tags = [];
  const wrap = (name: string, key: string, convert: (v: unknown) => unknown = (v) => v) => {
    for (const collection of [undefined, 'seq', 'map'] as const) {
      tags.push({
        tag: `!${name}`,
        ...(collection ? { collection } : {}),
        resolve: (value: unknown) => {
          const plain = value && typeof (value as { toJSON?: unknown }).toJSON === 'function' ? (value as { toJSON: () => unknown }).toJSON() : value;
          return { [key]: convert(plain) };
        },
      } as Tags[number]);
    }
  };
  wrap('Ref', 'Ref');
  wrap('Condition', 'Condition');
  wrap('GetAtt', 'Fn::GetAtt', (v) => (typeof v === 'string' ? v.split('.', 2) : v));
  for (const f of FN_TAGS) wrap(f, `Fn::${f}`);
  return tags;
}

export function parseTemplate(text: string): Record<string, any> {
  return parse(text, { customTags: tagsFor(), strict: true, uniqueKeys: true }) as Record<string, any>;
}

export const NO_VALUE = Symbol('AWS::NoValue');

export interface StackContext {
  parameters: Record<string, string | string[]>;
  region: string;
  account: string;
  partition?: string;
  /** Values of Fn::GetAtt / Ref of resources, keyed "Resource.Attribute" or "Resource". */
  resources: Record<string, string>;
}

export class TemplateEvaluator {
  constructor(private readonly template: Record<string, any>, private readonly ctx: StackContext) {}

  private ref(name: string): unknown {
    const pseudo: Record<string, unknown> = {
      'AWS::Region': this.ctx.region,
      'AWS::AccountId': this.ctx.account,
      'AWS::Partition': this.ctx.partition ?? 'aws',
      'AWS::NoValue': NO_VALUE,
      'AWS::StackName': 'cosigner',
    };
    if (name in pseudo) return pseudo[name];
    if (this.template.Parameters && name in this.template.Parameters) {
      const p = this.template.Parameters[name];
      const v = name in this.ctx.parameters ? this.ctx.parameters[name] : p.Default;
      if (v === undefined) throw new Error(`parameter ${name} has no value`);
      return p.Type === 'CommaDelimitedList' && typeof v === 'string' ? v.split(',') : v;
    }
    if (name in this.ctx.resources) return this.ctx.resources[name];
    throw new Error(`Ref to unknown ${name}`);
  }

  condition(name: string): boolean {
    const c = this.template.Conditions?.[name];
    if (c === undefined) throw new Error(`unknown condition ${name}`);
    const v = this.evaluate(c);
    if (typeof v !== 'boolean') throw new Error(`condition ${name} is not a boolean`);
    return v;
  }

  evaluate(node: unknown): unknown {
    if (Array.isArray(node)) return node.map((n) => this.evaluate(n)).filter((n) => n !== NO_VALUE);
    if (node === null || typeof node !== 'object') return node;
    const entries = Object.entries(node as Record<string, unknown>);
    if (entries.length === 1) {
      const [k, v] = entries[0]!;
      const args = v as unknown[];
      switch (k) {
        case 'Ref': return this.ref(v as string);
        case 'Condition': return this.condition(v as string);
        case 'Fn::GetAtt': {
          const key = (v as string[]).join('.');
          if (!(key in this.ctx.resources)) throw new Error(`Fn::GetAtt ${key} has no value in this test`);
          return this.ctx.resources[key];
        }
        case 'Fn::If': return this.evaluate(this.condition(args[0] as string) ? args[1] : args[2]);
        case 'Fn::Equals': return JSON.stringify(this.evaluate(args[0])) === JSON.stringify(this.evaluate(args[1]));
        case 'Fn::Not': return !this.evaluate(args[0]);
        case 'Fn::Or': return args.some((a) => this.evaluate(a) === true);
        case 'Fn::And': return args.every((a) => this.evaluate(a) === true);
        case 'Fn::Join': return (this.evaluate(args[1]) as unknown[]).join(args[0] as string);
        case 'Fn::Base64': return this.evaluate(v);
        case 'Fn::Sub': {
          const [text, vars] = typeof v === 'string' ? [v, {}] : (v as [string, Record<string, unknown>]);
          return text.replace(/\$\{([^}!]+)\}/g, (_, name: string) => {
            if (name in vars) return String(this.evaluate(vars[name]));
            const value = name.includes('.') && !name.startsWith('AWS::') ? this.evaluate({ 'Fn::GetAtt': name.split('.', 2) }) : this.ref(name);
            return String(value);
          });
        }
        default:
          if (k.startsWith('Fn::')) throw new Error(`${k} is not evaluated by this test`);
      }
    }
    const out: Record<string, unknown> = {};
    for (const [k, v] of entries) {
      const e = this.evaluate(v);
      if (e !== NO_VALUE) out[k] = e;
    }
    return out;
  }
}
