// SPDX-License-Identifier: Apache-2.0
/* Handler styles the Lambda Node.js runtime accepts, for tests/integ/21-lambda-host.sh. */
'use strict';

let calls = 0;

/* Callback style, answering later. */
exports.callback = (event, context, callback) => {
	setTimeout(() => callback(null, { style: 'callback', token: event.token }), 10);
};

/* Callback style, failing. */
exports.callbackError = (event, context, callback) => {
	callback(new RangeError('out of range'));
};

/* Legacy context.succeed. */
exports.succeed = (event, context) => {
	context.succeed({ style: 'succeed', remaining: context.getRemainingTimeInMillis() > 0 });
};

/* Async, throwing. */
exports.throws = async () => {
	throw new Error('thrown');
};

/* Never answers: cut by --timeout. */
exports.forever = () => new Promise(() => {});

/* Module state survives between invocations, as in a warm Lambda. */
exports.counter = async (event, context) => ({ calls: ++calls, arn: context.invokedFunctionArn });
