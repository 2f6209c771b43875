// Mocha's spec reporter plus one closing line, "N passed, N failed[, N skipped]", that CI reads.
'use strict';
const Mocha = require('mocha');
const { Spec } = Mocha.reporters;

class SummaryReporter extends Spec {
  epilogue() {
    super.epilogue();
    const s = this.stats;
    const skipped = s.pending ? `, ${s.pending} skipped` : '';
    process.stdout.write(`${s.passes} passed, ${s.failures} failed${skipped}\n`);
  }
}
module.exports = SummaryReporter;
