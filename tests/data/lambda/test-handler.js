// SPDX-License-Identifier: Apache-2.0
/*
 * Test wrapper around the unmodified demo authorizer
 * (packaging/examples/demo-authorizer/index.js) for tollgate-lambda-host:
 *   TG_COUNT_FILE     rewritten with the number of invocations on each one
 *   TG_RESPOND_WITH   a file whose contents (read on each invocation) are the
 *                     answer: parsed JSON, or the text itself when not JSON
 *   token "hang"      never answers;  token "throw"  throws a TypeError
 * Everything else is the demo handler's decision.
 */
'use strict';

const fs = require('fs');
const path = require('path');
const demo = require(path.join(__dirname, '../../../packaging/examples/demo-authorizer/index.js'));

let invocations = 0;

exports.handler = async (event, context) => {
	invocations++;
	if (process.env.TG_COUNT_FILE) {
		const tmp = `${process.env.TG_COUNT_FILE}.tmp`;
		fs.writeFileSync(tmp, `${invocations}\n`);
		fs.renameSync(tmp, process.env.TG_COUNT_FILE);
	}
	if (event.token === 'hang')
		return new Promise(() => {});
	if (event.token === 'throw')
		throw new TypeError('deliberate failure');
	const fixed = process.env.TG_RESPOND_WITH;
	if (fixed && fs.existsSync(fixed)) {
		const text = fs.readFileSync(fixed, 'utf8');
		try {
			return JSON.parse(text);
		} catch {
			return text;
		}
	}
	return demo.handler(event, context);
};
