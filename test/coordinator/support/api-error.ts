// The one shape every refused request answers with: 4xx, {message, code}, no stack or source path.
import { expect } from 'chai';

export function expectClientError(res: { status: number; json: any }, what: string): void {
  expect(res.status, what).to.be.within(400, 499);
  expect(res.json, what).to.be.an('object');
  expect(res.json.message, what).to.be.a('string');
  expect(res.json.code, what).to.be.a('number');
  expect(JSON.stringify(res.json), what).to.not.match(/at .*\.ts:\d+|stack/);
}
