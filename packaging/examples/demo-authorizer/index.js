// SPDX-License-Identifier: Apache-2.0
/*
 * Demo custom authorizer for tollgate, written as an ordinary AWS Lambda
 * handler in the style of AWS IoT Core's custom authorizer tutorial: it runs
 * unchanged on AWS Lambda and under tollgate-lambda-host.
 *
 * Decision:
 *   The token is event.token (the value of the authorizer's tokenKeyName,
 *   found by the gateway in a header, the query string or the MQTT username
 *   query). When there is none, the MQTT password (base64 in
 *   event.protocolData.mqtt.password) is the token, so plain MQTT clients can
 *   send it as their password (mosquitto_pub -P allow ...).
 *   - token "allow" or "allow-<anything>": authenticated. principalId is the
 *     token with every character but [A-Za-z0-9] removed ("allow-dev1" ->
 *     "allowdev1"). The policy allows
 *       iot:Connect    client/${iot:ClientId}   (any client id, as a variable)
 *       iot:Publish, iot:Receive   topic/demo/*
 *       iot:Subscribe  topicfilter/demo/*
 *     and denies iot:Publish on topic/demo/readonly/*.
 *   - any other token, or none: not authenticated.
 *   Refresh every 600 s, disconnect after 3600 s.
 * Region and account come from context.invokedFunctionArn, as in the AWS
 * tutorial.
 *
 * packaging/examples/unix-authorizer/unix_authorizer.c makes the same
 * decisions, field for field, over tollgate's unix: transport.
 */
'use strict';

const REFRESH_SECONDS = 600;
const DISCONNECT_SECONDS = 3600;

function tokenOf(event) {
	if (typeof event.token === 'string')
		return event.token;
	const mqtt = event.protocolData && event.protocolData.mqtt;
	if (mqtt && typeof mqtt.password === 'string')
		return Buffer.from(mqtt.password, 'base64').toString('utf8');
	return undefined;
}

function principalOf(token) {
	const p = (token || '').replace(/[^A-Za-z0-9]/g, '').slice(0, 128);
	return p || 'anonymous';
}

function policy(region, account) {
	const arn = `arn:aws:iot:${region}:${account}`;
	return {
		Version: '2012-10-17',
		Statement: [
			{ Effect: 'Allow', Action: 'iot:Connect', Resource: `${arn}:client/\${iot:ClientId}` },
			{ Effect: 'Allow', Action: ['iot:Publish', 'iot:Receive'], Resource: `${arn}:topic/demo/*` },
			{ Effect: 'Allow', Action: 'iot:Subscribe', Resource: `${arn}:topicfilter/demo/*` },
			{ Effect: 'Deny', Action: 'iot:Publish', Resource: `${arn}:topic/demo/readonly/*` },
		],
	};
}

exports.handler = async (event, context) => {
	const [, , , region, account] = context.invokedFunctionArn.split(':');
	const token = tokenOf(event);
	const allowed = token === 'allow' || (typeof token === 'string' && token.startsWith('allow-'));
	return {
		isAuthenticated: allowed,
		principalId: principalOf(token),
		disconnectAfterInSeconds: DISCONNECT_SECONDS,
		refreshAfterInSeconds: REFRESH_SECONDS,
		policyDocuments: allowed ? [policy(region, account)] : [],
	};
};
