#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# 05-test-authorization: the real tollgatectl evaluates the policy examples of
# AWS's IoT developer guide (rewritten with our own names): a ${iot:ClientId}-
# scoped fleet policy, Deny overriding Allow, implicit deny, several resources,
# a policy that does not compile and a command line that cannot be used.
# Needs no daemon. Decisions are read with jq.
set -u -o pipefail
ctl=${TG_BUILD:?TG_BUILD is not set}/tollgatectl
command -v jq >/dev/null || { echo "jq is not installed"; exit 77; }
if ! "$ctl" test-authorization help 2>/dev/null | grep -q -- '--policy-file'; then
	echo "$ctl has no test-authorization command yet (tollgatectl's command table is not in this tree)"
	exit 77
fi

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
arn=arn:aws:iot:eu-north-1:424242424242
cat >"$tmp/fleet.json" <<JSON
{
    "Version": "2012-10-17",
    "Statement": [
        {"Effect": "Allow", "Action": "iot:Connect", "Resource": "$arn:client/\${iot:ClientId}"},
        {"Sid": "own-topics", "Effect": "Allow", "Action": ["iot:Publish", "iot:Receive"],
         "Resource": "$arn:topic/fleet/\${iot:ClientId}/*"},
        {"Effect": "Allow", "Action": "iot:Subscribe", "Resource": "$arn:topicfilter/fleet/\${iot:ClientId}/*"}
    ]
}
JSON
cat >"$tmp/deny-override.json" <<JSON
{
    "Version": "2012-10-17",
    "Statement": [
        {"Effect": "Allow", "Action": "iot:Publish", "Resource": "$arn:topic/plant/*"},
        {"Sid": "restricted", "Effect": "Deny", "Action": "iot:Publish", "Resource": "$arn:topic/plant/restricted/*"}
    ]
}
JSON
cat >"$tmp/broken.json" <<JSON
{"Version": "2012-10-17", "Statement": [{"Effect": "Permit", "Action": "iot:*", "Resource": "*"}]}
JSON

fail() {
	echo "FAIL: $*"
	exit 1
}

# ta ARGS...: runs test-authorization for region eu-north-1 / account 424242424242.
ta() {
	"$ctl" test-authorization --region eu-north-1 --account-id 424242424242 "$@"
}

# expect JQ_FILTER WANT ARGS...: the filter applied to the output must print WANT.
expect() {
	local filter=$1 want=$2 out got
	shift 2
	out=$(ta "$@") || fail "exit $? for: $*"
	got=$(jq -r "$filter" <<<"$out") || fail "not JSON: $out"
	[ "$got" = "$want" ] || fail "$filter of ($*): got '$got', want '$want'"
	echo "ok: $filter = $want"
}

fleet=(--policy-file "$tmp/fleet.json")
d='.authResults[0].authDecision'

# ${iot:ClientId}-scoped topics
expect "$d" ALLOWED "${fleet[@]}" --action iot:Publish --resource topic/fleet/dev-7/gps --client-id dev-7
expect '.authResults[0].allowed.policies[0].sid' own-topics \
	"${fleet[@]}" --action iot:Publish --resource topic/fleet/dev-7/gps --client-id dev-7
expect "$d" IMPLICIT_DENY "${fleet[@]}" --action iot:Publish --resource topic/fleet/dev-8/gps --client-id dev-7
expect "$d" ALLOWED "${fleet[@]}" --action SUBSCRIBE --resource 'topicfilter/fleet/dev-7/#' --client-id dev-7
expect "$d" ALLOWED "${fleet[@]}" --action iot:Connect --resource "$arn:client/dev-7" --client-id dev-7
# a client id is never a wildcard
expect "$d" IMPLICIT_DENY "${fleet[@]}" --action iot:Publish --resource topic/fleet/dev-7/gps --client-id '*'
# without a client id nothing scoped to it is granted, and the output says what was missing
expect "$d" IMPLICIT_DENY "${fleet[@]}" --action iot:Publish --resource topic/fleet/dev-7/gps
expect '.authResults[0].missingContextValues[0]' iot:ClientId \
	"${fleet[@]}" --action iot:Publish --resource topic/fleet/dev-7/gps

# Deny overrides Allow, across policies
both=(--policy-file "$tmp/deny-override.json" --policy "file://$tmp/fleet.json")
expect "$d" ALLOWED "${both[@]}" --action iot:Publish --resource topic/plant/line-1
expect "$d" EXPLICIT_DENY "${both[@]}" --action iot:Publish --resource topic/plant/restricted/valve
expect '.authResults[0].denied.explicitDeny.policies[0] | "\(.policyName) \(.statement) \(.sid)"' \
	"deny-override.json 1 restricted" "${both[@]}" --action iot:Publish --resource topic/plant/restricted/valve

# implicit deny lists every policy; one result per resource
expect '[.authResults[0].denied.implicitDeny.policies[].policyName] | join(",")' \
	"deny-override.json,fleet.json" "${both[@]}" --action iot:Receive --resource topic/plant/line-1
expect '[.authResults[].authDecision] | join(",")' "ALLOWED,EXPLICIT_DENY,IMPLICIT_DENY" \
	--policy-file "$tmp/deny-override.json" --action iot:Publish \
	--resource topic/plant/a --resource topic/plant/restricted/b --resource topic/office/c

# a policy that does not compile: exit 255, the file, the JSON path and the reason
err=$(ta --policy-file "$tmp/broken.json" --action iot:Publish --resource topic/x 2>&1 >/dev/null)
rc=$?
[ $rc -eq 255 ] || fail "broken policy: exit $rc, want 255"
[ "$err" = 'Error: broken.json: Statement[0].Effect: expected "Allow" or "Deny"' ] ||
	fail "broken policy: stderr '$err'"
echo "ok: compile error"

# a command line that cannot be used: exit 252
ta "${fleet[@]}" --action iot:Teleport --resource topic/x >/dev/null 2>&1
rc=$?
[ $rc -eq 252 ] || fail "unknown action: exit $rc, want 252"
echo "ok: usage error"

# short resources take region and account from the configuration, flags win
printf 'account_id: "111122223333"\nregion: eu-west-1\n' >"$tmp/tollgate.yaml"
arn=$("$TG_BUILD/tollgatectl" --config "$tmp/tollgate.yaml" test-authorization \
	"${fleet[@]}" --action iot:Publish --resource topic/a | jq -r '.authResults[0].authInfo.resources[0]')
[ "$arn" = "arn:aws:iot:eu-west-1:111122223333:topic/a" ] || fail "config identity: $arn"
arn=$("$TG_BUILD/tollgatectl" --config "$tmp/tollgate.yaml" test-authorization --region ap-south-1 \
	"${fleet[@]}" --action iot:Publish --resource topic/a | jq -r '.authResults[0].authInfo.resources[0]')
[ "$arn" = "arn:aws:iot:ap-south-1:111122223333:topic/a" ] || fail "flag over config: $arn"
"$TG_BUILD/tollgatectl" --config "$tmp/missing.yaml" test-authorization "${fleet[@]}" \
	--action iot:Publish --resource topic/a >/dev/null 2>&1
rc=$?
[ $rc -eq 253 ] || fail "missing --config file: exit $rc, want 253"
echo "ok: region and account from the configuration"
