// SPDX-License-Identifier: Apache-2.0
/*
 * Unit tests of daemon/config.c: defaults, the packaged annotated file, a
 * file setting every key, each kind of error with its exact
 * "FILE:LINE: KEY: reason" message, collection of several errors in one
 * run, and the helpers filling the registry and engine configurations.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "config.h"

static struct tg_config *load_ok(const char *text)
{
	struct config_errors errs = { 0 };
	struct tg_config *cfg;

	if (config_load_buffer("t.yaml", text, strlen(text), &cfg, &errs) != 0)
		fail_msg("load failed: %s", errs.n ? errs.msgs[0] : "(no message)");
	assert_int_equal(errs.n, 0);
	return cfg;
}

static void check_defaults(const struct tg_config *c)
{
	assert_string_equal(c->account_id, "123456789012");
	assert_string_equal(c->region, "us-east-1");
	assert_string_equal(c->state_dir, "/var/lib/tollgate");
	assert_string_equal(c->state_file, "/var/lib/tollgate/authorizers.json");
	assert_string_equal(c->control.socket, "/run/tollgate/ctl.sock");
	assert_string_equal(c->control.group, "tollgate");
	assert_int_equal(c->control.mode, 0660);
	assert_int_equal(c->control.max_clients, 4096);
	assert_int_equal(c->control.idle_timeout_ms, 60000);
	assert_int_equal(c->log.level, LOG_LVL_INFO);
	assert_int_equal(c->limits.authorizers, 100);
	assert_int_equal(c->limits.keys_per_authorizer, 5);
	assert_int_equal(c->limits.token_bytes, 6144);
	assert_int_equal(c->limits.http_context_bytes, 8192);
	assert_int_equal(c->functions.timeout_ms, 5000);
	assert_int_equal(c->functions.max_inflight, 64);
	assert_int_equal(c->functions.queue_deadline_ms, 1000);
	assert_int_equal(c->functions.decision_cache_entries, 10000);
	assert_int_equal(c->functions.negative_ttl_s, 0);
	assert_int_equal(c->functions.refresh_s.min, 300);
	assert_int_equal(c->functions.refresh_s.max, 86400);
	assert_int_equal(c->functions.disconnect_s.min, 300);
	assert_int_equal(c->functions.disconnect_s.max, 86400);
	assert_null(c->functions.ca_file);
	assert_int_equal(c->functions.nlambda, 0);
	assert_int_equal(c->policy_cache_entries, 10000);
	assert_int_equal(c->limits.max_connections, 100000);
	assert_int_equal(c->limits.max_packet_bytes, 131077);
	assert_int_equal(c->limits.connect_timeout_ms, 10000);
	assert_int_equal(c->limits.max_queued_bytes, 1 << 20);
	assert_int_equal(c->limits.client_id_takeovers_per_minute, 10);
	assert_int_equal(c->nlisteners, 1);
	assert_string_equal(c->listeners[0].address, "0.0.0.0");
	assert_int_equal(c->listeners[0].port, 443);
	assert_int_equal(c->listeners[0].alpn, TLS_ALPN_REQUIRED);
	assert_int_equal(c->ndomains, 0);
	assert_int_equal(c->default_domain, -1);
	assert_string_equal(c->upstream.url, "mqtt://127.0.0.1:1883");
	assert_string_equal(c->upstream.host, "127.0.0.1");
	assert_int_equal(c->upstream.port, 1883);
	assert_false(c->upstream.tls);
	assert_null(c->upstream.username);
	assert_null(c->upstream.password);
	assert_null(c->upstream.client_id_prefix);
	assert_int_equal(c->upstream.connect_timeout_ms, 5000);
	assert_int_equal(c->workers, 0);
}

/* The xdp section: defaults, then every key. */
static void test_xdp_keys(void **state)
{
	struct tg_config *c = load_ok("");

	assert_int_equal(c->xdp.ninterfaces, 0);
	assert_int_equal(c->xdp.mode, TG_XDP_AUTO);
	assert_false(c->xdp.strict);
	assert_int_equal(c->xdp.allowed.n, 0);
	assert_int_equal(c->xdp.management.n, 1);
	assert_int_equal(c->xdp.management.v[0], 22);
	assert_int_equal(c->xdp.ban.failures, 20);
	assert_int_equal(c->xdp.ban.window_s, 60);
	assert_int_equal(c->xdp.ban.ban_s, 600);
	assert_string_equal(c->xdp.pin_dir, "/sys/fs/bpf/tollgate");
	config_free(c);
	c = load_ok("xdp:\n  interfaces: [eth0, veth1]\n  mode: generic\n  strict: true\n"
		    "  allowed_ports: [53, 8080]\n  management_ports: [2222, 22]\n"
		    "  syn_rate: 5\n  syn_burst: 7\n  pin_dir: /sys/fs/bpf/tg2\n"
		    "  ban: {failures: 3, window_seconds: 9, ban_seconds: 0}\n");
	assert_int_equal(c->xdp.ninterfaces, 2);
	assert_string_equal(c->xdp.interfaces[1], "veth1");
	assert_int_equal(c->xdp.mode, TG_XDP_GENERIC);
	assert_true(c->xdp.strict);
	assert_int_equal(c->xdp.allowed.n, 2);
	assert_int_equal(c->xdp.allowed.v[1], 8080);
	assert_int_equal(c->xdp.management.n, 2);
	assert_int_equal(c->xdp.management.v[0], 2222);
	assert_int_equal(c->xdp.syn_rate, 5);
	assert_int_equal(c->xdp.syn_burst, 7);
	assert_string_equal(c->xdp.pin_dir, "/sys/fs/bpf/tg2");
	assert_int_equal(c->xdp.ban.failures, 3);
	assert_int_equal(c->xdp.ban.window_s, 9);
	assert_int_equal(c->xdp.ban.ban_s, 0);
	config_free(c);
}

/* The data-plane sections: listeners, domains, default domain, upstream. */
static void test_dataplane_keys(void **state)
{
	static const char text[] =
		"listeners:\n"
		"  - {address: '[::1]', port: 8443}\n"
		"  - {address: 127.0.0.1, port: 8883, alpn: optional}\n"
		"domains:\n"
		"  - names: [IoT.Example.com, '*.iot.example.com']\n"
		"    cert: /dev/null\n"
		"    key: /dev/null\n"
		"    default_authorizer: auth-1\n"
		"    allow_authorizer_override: yes\n"
		"  - {names: other.test, cert: /dev/null, key: /dev/null}\n"
		"default_domain: other.test\n"
		"upstream:\n"
		"  url: mqtt://[::1]:2883\n"
		"  username: gw\n"
		"  password: pw\n"
		"  client_id_prefix: gw1-\n"
		"  connect_timeout_ms: 250\n"
		"workers: 3\n"
		"limits: {max_connections: 5, max_packet_bytes: 1000, connect_timeout_ms: 200}\n";
	struct tg_config *c = load_ok(text);

	assert_int_equal(c->nlisteners, 2);
	assert_string_equal(c->listeners[0].address, "::1");
	assert_int_equal(c->listeners[0].port, 8443);
	assert_int_equal(c->listeners[0].alpn, TLS_ALPN_REQUIRED);
	assert_string_equal(c->listeners[1].address, "127.0.0.1");
	assert_int_equal(c->listeners[1].alpn, TLS_ALPN_OPTIONAL);
	assert_int_equal(c->ndomains, 2);
	assert_int_equal(c->domains[0].nnames, 2);
	assert_string_equal(c->domains[0].names[0], "iot.example.com");
	assert_string_equal(c->domains[0].names[1], "*.iot.example.com");
	assert_string_equal(c->domains[0].default_authorizer, "auth-1");
	assert_true(c->domains[0].allow_override);
	assert_int_equal(c->domains[1].nnames, 1);
	assert_null(c->domains[1].default_authorizer);
	assert_false(c->domains[1].allow_override);
	assert_int_equal(c->default_domain, 1);
	assert_string_equal(c->upstream.host, "::1");
	assert_int_equal(c->upstream.port, 2883);
	assert_string_equal(c->upstream.username, "gw");
	assert_string_equal(c->upstream.password, "pw");
	assert_string_equal(c->upstream.client_id_prefix, "gw1-");
	assert_int_equal(c->upstream.connect_timeout_ms, 250);
	assert_int_equal(c->workers, 3);
	assert_int_equal(c->limits.max_connections, 5);
	assert_int_equal(c->limits.max_packet_bytes, 1000);
	assert_int_equal(c->limits.connect_timeout_ms, 200);
	config_free(c);
}

static void test_defaults(void **state)
{
	const char *empty[] = { "", "\n# only a comment\n", "---\n" };

	for (size_t i = 0; i < sizeof(empty) / sizeof(empty[0]); i++) {
		struct tg_config *c = load_ok(empty[i]);

		check_defaults(c);
		assert_string_equal(c->path, "t.yaml");
		config_free(c);
	}
}

/* The annotated packaged file states exactly the defaults. */
static void test_packaged_file(void **state)
{
	const char *top = getenv("TG_TOP");
	struct config_errors errs = { 0 };
	struct tg_config *c;
	char path[512];

	snprintf(path, sizeof(path), "%s/packaging/tollgate.yaml", top ? top : ".");
	if (config_load(path, &c, &errs) != 0)
		fail_msg("%s", errs.n ? errs.msgs[0] : "load failed");
	check_defaults(c);
	assert_string_equal(c->path, path);
	config_free(c);
}

static void test_every_key(void **state)
{
	static const char text[] =
		"account_id: '000000000042'\n"
		"region: eu-west-3\n"
		"state_dir: /tmp/tg-state\n"
		"control:\n"
		"  socket: /tmp/tg.sock\n"
		"  group: wheel\n"
		"  mode: 0600\n"
		"  max_clients: 10\n"
		"  idle_timeout_ms: 100\n"
		"log: {level: debug}\n"
		"limits:\n"
		"  authorizers: 7\n"
		"  keys_per_authorizer: 2\n"
		"  token_bytes: 100\n"
		"  http_context_bytes: 200\n"
		"functions:\n"
		"  timeout_ms: 250\n"
		"  max_inflight: 3\n"
		"  queue_deadline_ms: 0\n"
		"  decision_cache_entries: 0\n"
		"  negative_ttl_seconds: 30\n"
		"  refresh_seconds: {min: 1, max: 2}\n"
		"  disconnect_seconds:\n"
		"    min: 5\n"
		"    max: 5\n"
		"  ca_file: /dev/null\n"
		"  lambda:\n"
		"    - arn: arn:aws:lambda:us-east-1:1:function:a\n"
		"      url: http://127.0.0.1:9000/x\n"
		"    - {arn: 'arn:aws:lambda:us-east-1:1:function:b', url: 'unix:/run/b.sock'}\n"
		"policy_cache_entries: 9\n";
	struct tg_config *c = load_ok(text);
	struct authz_registry_config rc;
	struct auth_engine_config ec;

	assert_string_equal(c->account_id, "000000000042");
	assert_string_equal(c->region, "eu-west-3");
	assert_string_equal(c->state_file, "/tmp/tg-state/authorizers.json");
	assert_string_equal(c->control.socket, "/tmp/tg.sock");
	assert_string_equal(c->control.group, "wheel");
	assert_int_equal(c->control.mode, 0600);
	assert_int_equal(c->control.max_clients, 10);
	assert_int_equal(c->control.idle_timeout_ms, 100);
	assert_int_equal(c->log.level, LOG_LVL_DEBUG);
	assert_int_equal(c->functions.nlambda, 2);
	assert_string_equal(c->functions.lambda[1].arn, "arn:aws:lambda:us-east-1:1:function:b");
	assert_string_equal(c->functions.lambda[1].url, "unix:/run/b.sock");
	assert_string_equal(c->functions.ca_file, "/dev/null");
	assert_int_equal(c->policy_cache_entries, 9);

	config_registry(c, &rc);
	assert_string_equal(rc.region, "eu-west-3");
	assert_string_equal(rc.account, "000000000042");
	assert_string_equal(rc.state_path, "/tmp/tg-state/authorizers.json");
	assert_int_equal(rc.max_authorizers, 7);
	assert_int_equal(rc.max_keys, 2);
	assert_int_equal(rc.max_token_len, 100);
	assert_int_equal(rc.ndomain_defaults, 0);

	config_engine(c, (struct policy_cache *)&ec, &ec);
	assert_ptr_equal(ec.policies, (struct policy_cache *)&ec);
	assert_int_equal(ec.timeout_ms, 250);
	assert_int_equal(ec.refresh_min_s, 1);
	assert_int_equal(ec.refresh_max_s, 2);
	assert_int_equal(ec.disconnect_min_s, 5);
	assert_int_equal(ec.disconnect_max_s, 5);
	assert_int_equal(ec.max_inflight, 3);
	assert_int_equal(ec.queue_deadline_ms, 0);
	assert_int_equal(ec.cache_entries, 0);
	assert_int_equal(ec.negative_ttl_s, 30);
	assert_int_equal(ec.max_token_len, 100);
	assert_int_equal(ec.max_http_context, 200);
	assert_string_equal(ec.ca_file, "/dev/null");
	assert_int_equal(ec.nmaps, 2);
	assert_string_equal(ec.maps[0].url, "http://127.0.0.1:9000/x");
	config_free(c);
}

struct bad_case {
	const char *text;
	const char *msgs[4]; /* every message, in order; NULL ends */
};

static const struct bad_case bad_cases[] = {
	{ "bogus: 1\n", { "t.yaml:1: bogus: unknown key" } },
	{ "region: us-east-1\ncontrol:\n  sockets: /x\n",
	  { "t.yaml:3: control.sockets: unknown key" } },
	{ "region: a\nregion: b\n", { "t.yaml:2: region: duplicate key" } },
	{ "account_id: 12345\n",
	  { "t.yaml:1: account_id: expects 12 digits (quote it to keep "
	    "leading zeros), got '12345'" } },
	{ "account_id: 12345678901a\n", { "t.yaml:1: account_id: expects 12 digits" } },
	{ "region: US_EAST\n",
	  { "t.yaml:1: region: expects a region name like us-east-1, got 'US_EAST'" } },
	{ "region: [a, b]\n", { "t.yaml:1: region: expects a single value, not a list" } },
	{ "region: {a: b}\n", { "t.yaml:1: region: expects a single value, not a mapping" } },
	{ "region:\n", { "t.yaml:1: region: expects a value" } },
	{ "state_dir: var/lib\n",
	  { "t.yaml:1: state_dir: expects an absolute path, got 'var/lib'" } },
	{ "control:\n  socket: /aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
	  "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\n",
	  { "t.yaml:2: control.socket: path longer than 107 bytes" } },
	{ "control:\n  mode: 0999\n",
	  { "t.yaml:2: control.mode: expects octal permission bits like 0660, got '0999'" } },
	{ "control:\n  mode: 01777\n",
	  { "t.yaml:2: control.mode: expects octal permission bits" } },
	{ "control:\n  idle_timeout_ms: 99\n",
	  { "t.yaml:2: control.idle_timeout_ms: expects an integer from 100 to 86400000, got '99'" } },
	{ "control:\n  group: 1abc\n",
	  { "t.yaml:2: control.group: expects a group name, got '1abc'" } },
	{ "control: yes\n", { "t.yaml:1: control: expects a mapping of keys" } },
	{ "control:\n", { "t.yaml:1: control: expects a mapping of keys" } },
	{ "log:\n  level: loud\n",
	  { "t.yaml:2: log.level: expects error, warn, info or debug, got 'loud'" } },
	{ "limits:\n  authorizers: 0\n",
	  { "t.yaml:2: limits.authorizers: expects an integer from 1 to 100000, got '0'" } },
	{ "limits:\n  authorizers: -1\n", { "t.yaml:2: limits.authorizers: expects an integer" } },
	{ "limits:\n  authorizers: 1e3\n", { "t.yaml:2: limits.authorizers: expects an integer" } },
	{ "limits:\n  authorizers: 99999999999999999999999\n",
	  { "t.yaml:2: limits.authorizers: expects an integer" } },
	{ "limits:\n  keys_per_authorizer: 6\n",
	  { "t.yaml:2: limits.keys_per_authorizer: expects an integer from 1 to 5, got '6'" } },
	{ "functions:\n  timeout_ms: 5001\n",
	  { "t.yaml:2: functions.timeout_ms: expects an integer from 1 to 5000, got '5001'" } },
	{ "functions:\n  refresh_seconds: {min: 10, max: 5}\n",
	  { "t.yaml:2: functions.refresh_seconds: min (10) is greater than max (5)" } },
	{ "functions:\n  refresh_seconds: {max: 200}\n",
	  { "t.yaml:2: functions.refresh_seconds: min (300) is greater than max (200)" } },
	{ "functions:\n  disconnect_seconds:\n    min: 0\n",
	  { "t.yaml:3: functions.disconnect_seconds.min: expects an integer from 1 to 604800, got "
	    "'0'" } },
	{ "functions:\n  disconnect_seconds: 300\n",
	  { "t.yaml:2: functions.disconnect_seconds: expects a mapping of keys" } },
	{ "functions:\n  refresh_seconds: {min: 1, mid: 2}\n",
	  { "t.yaml:2: functions.refresh_seconds.mid: unknown key" } },
	{ "functions:\n  ca_file: /nonexistent/ca.pem\n",
	  { "t.yaml:2: functions.ca_file: cannot read '/nonexistent/ca.pem': No such file or "
	    "directory" } },
	{ "functions:\n  lambda: {arn: x}\n",
	  { "t.yaml:2: functions.lambda: expects a list of {arn, url}" } },
	{ "functions:\n  lambda:\n    - arn: arn:aws:lambda:r:1:function:f\n",
	  { "t.yaml:3: functions.lambda[0]: expects both arn and url" } },
	{ "functions:\n  lambda:\n    - {arn: 'arn:aws:iot:x', url: 'http://h/'}\n",
	  { "t.yaml:3: functions.lambda[0]: arn must start with arn:aws:lambda:, got "
	    "'arn:aws:iot:x'" } },
	{ "functions:\n  lambda:\n    - {arn: 'arn:aws:lambda:x', url: 'ftp://h/'}\n",
	  { "t.yaml:3: functions.lambda[0]: url must be http://HOST/..., https://HOST/... or "
	    "unix:/ABSOLUTE/PATH, got 'ftp://h/'" } },
	{ "functions:\n  lambda:\n    - {arn: 'arn:aws:lambda:x', url: 'http://h/'}\n"
	  "    - {arn: 'arn:aws:lambda:x', url: 'http://i/'}\n",
	  { "t.yaml:4: functions.lambda[1]: arn 'arn:aws:lambda:x' is mapped twice" } },
	{ "functions:\n  lambda:\n    - {arn: 'arn:aws:lambda:x', url: 'http://h/', port: 1}\n",
	  { "t.yaml:3: functions.lambda[0].port: unknown key" } },
	{ "functions:\n  lambda:\n    - 5\n",
	  { "t.yaml:3: functions.lambda[0]: expects a mapping of keys" } },
	{ "- a\n- b\n", { "t.yaml:1: : expects a mapping of keys" } },
	{ "? [a]\n: b\n", { "t.yaml:1: : keys must be plain words" } },
	{ "region: [a\n",
	  { "t.yaml:2: yaml: did not find expected ',' or ']' while parsing a flow "
	    "sequence" } },
	{ "region: a\n---\nregion: b\n", { "t.yaml:3: yaml: only one YAML document is allowed" } },
	/* Everything is reported, in file order. */
	{ "account_id: 1\nregion: x_y\nlimits:\n  token_bytes: 0\n  nope: 1\nlog: {level: 3}\n",
	  { "t.yaml:1: account_id: expects 12 digits", "t.yaml:2: region: expects a region name",
	    "t.yaml:4: limits.token_bytes: expects an integer from 1 to 65535, got '0'",
	    "t.yaml:5: limits.nope: unknown key" } },
};

static const struct bad_case dataplane_bad_cases[] = {
	{ "xdp: {mode: turbo}\n", { "t.yaml:1: xdp.mode: expects auto, native or generic" } },
	{ "xdp: {interfaces: [eth0, eth0]}\n",
	  { "t.yaml:1: xdp.interfaces: interface eth0 is listed twice" } },
	{ "xdp: {interfaces: [a-very-long-interface-name]}\n",
	  { "t.yaml:1: xdp.interfaces: 'a-very-long-interface-name' is not an interface name" } },
	{ "xdp: {management_ports: [1, 2, 3, 4, 5]}\n",
	  { "t.yaml:1: xdp.management_ports: more than 4 entries" } },
	{ "xdp: {allowed_ports: [0]}\n",
	  { "t.yaml:1: xdp.allowed_ports: expects an integer from 1 to 65535" } },
	{ "xdp: {allowed_ports: [80, 80]}\n",
	  { "t.yaml:1: xdp.allowed_ports: port 80 is listed twice" } },
	{ "xdp: {ban: {failures: 0}}\n",
	  { "t.yaml:1: xdp.ban.failures: expects an integer from 1" } },
	{ "xdp: {syn_rate: -1}\n", { "t.yaml:1: xdp.syn_rate: expects an integer" } },
	{ "listeners:\n  - {address: localhost}\n",
	  { "t.yaml:2: listeners[0].address: expects a numeric IPv4 or IPv6 address, got "
	    "'localhost'" } },
	{ "listeners:\n  - {port: 80, alpn: maybe}\n",
	  { "t.yaml:2: listeners[0].alpn: expects required or optional, got 'maybe'" } },
	{ "listeners:\n  - {port: 80}\n  - {port: 80}\n",
	  { "t.yaml:3: listeners[1]: 0.0.0.0 port 80 is listed twice" } },
	{ "domains:\n  - {names: [a.test], cert: /dev/null}\n",
	  { "t.yaml:2: domains[0]: expects names, cert and key" } },
	{ "domains:\n  - {names: 'bad name', cert: /dev/null, key: /dev/null}\n",
	  { "t.yaml:2: domains[0].names: expects a DNS name" } },
	{ "domains:\n  - {names: a.test, cert: /dev/null, key: /nonexistent}\n",
	  { "t.yaml:2: domains[0].key: cannot read '/nonexistent'" } },
	{ "domains:\n  - {names: a.test, cert: /dev/null, key: /dev/null}\n"
	  "  - {names: A.test, cert: /dev/null, key: /dev/null}\n",
	  { "t.yaml:3: domains[1]: name 'a.test' belongs to another domain" } },
	{ "default_domain: x.test\n",
	  { "t.yaml: default_domain: 'x.test' is not a name of any entry of domains" } },
	{ "upstream: {url: 'http://b:1'}\n",
	  { "t.yaml:1: upstream.url: expects mqtt://HOST[:PORT] or mqtts://HOST[:PORT], got "
	    "'http://b:1'" } },
	{ "upstream: {url: 'mqtt://b:0'}\n", { "t.yaml:1: upstream.url: expects mqtt://" } },
	{ "upstream: {url: 'mqtt://[::1'}\n", { "t.yaml:1: upstream.url: expects mqtt://" } },
	{ "upstream: {url: 'mqtt://b', cert: /dev/null, key: /dev/null}\n",
	  { "t.yaml: upstream.cert: only applies to an mqtts:// url" } },
	{ "upstream: {url: 'mqtts://b', cert: /dev/null}\n",
	  { "t.yaml: upstream.key: cert and key go together; it is missing" } },
	{ "workers: -1\n", { "t.yaml:1: workers: expects an integer from 0 to 1024" } },
};

static void check_bad_cases(const struct bad_case *cases, size_t ncases)
{
	for (size_t i = 0; i < ncases; i++) {
		const struct bad_case *bc = &cases[i];
		struct config_errors errs = { 0 };
		struct tg_config *cfg = (struct tg_config *)1;
		size_t want = 0;

		assert_int_equal(
			config_load_buffer("t.yaml", bc->text, strlen(bc->text), &cfg, &errs),
			-EINVAL);
		assert_null(cfg);
		while (want < 4 && bc->msgs[want])
			want++;
		if (errs.n < want)
			fail_msg("case %zu: %zu messages, expected %zu (first: %s)", i, errs.n,
				 want, errs.n ? errs.msgs[0] : "none");
		for (size_t m = 0; m < want; m++) {
			if (strncmp(errs.msgs[m], bc->msgs[m], strlen(bc->msgs[m])))
				fail_msg("case %zu message %zu:\n  got  %s\n  want %s", i, m,
					 errs.msgs[m], bc->msgs[m]);
		}
		config_errors_free(&errs);
	}
}

static void test_dataplane_errors(void **state)
{
	check_bad_cases(dataplane_bad_cases,
			sizeof(dataplane_bad_cases) / sizeof(dataplane_bad_cases[0]));
}

static void test_errors(void **state)
{
	for (size_t i = 0; i < sizeof(bad_cases) / sizeof(bad_cases[0]); i++) {
		const struct bad_case *bc = &bad_cases[i];
		struct config_errors errs = { 0 };
		struct tg_config *cfg = (struct tg_config *)1;
		size_t want = 0;

		assert_int_equal(
			config_load_buffer("t.yaml", bc->text, strlen(bc->text), &cfg, &errs),
			-EINVAL);
		assert_null(cfg);
		while (want < 4 && bc->msgs[want])
			want++;
		if (errs.n < want)
			fail_msg("case %zu: %zu messages, expected %zu (first: %s)", i, errs.n,
				 want, errs.n ? errs.msgs[0] : "none");
		for (size_t m = 0; m < want; m++) {
			if (strncmp(errs.msgs[m], bc->msgs[m], strlen(bc->msgs[m])))
				fail_msg("case %zu message %zu:\n  got  %s\n  want %s", i, m,
					 errs.msgs[m], bc->msgs[m]);
		}
		config_errors_free(&errs);
	}
}

static void test_file_errors(void **state)
{
	struct config_errors errs = { 0 };
	struct tg_config *cfg;
	char dir[] = "/tmp/test_config.XXXXXX", path[64];
	FILE *f;

	assert_int_equal(config_load("/nonexistent/tollgate.yaml", &cfg, &errs), -ENOENT);
	assert_int_equal(errs.n, 1);
	assert_string_equal(errs.msgs[0],
			    "/nonexistent/tollgate.yaml: cannot open: No such file or directory");
	config_errors_free(&errs);

	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/t.yaml", dir);
	f = fopen(path, "w");
	assert_non_null(f);
	fputs("# comment\nregion: ap-south-1\nlog:\n  level: warn\n  colour: red\n", f);
	fclose(f);
	assert_int_equal(config_load(path, &cfg, &errs), -EINVAL);
	assert_int_equal(errs.n, 1);
	assert_non_null(strstr(errs.msgs[0], ":5: log.colour: unknown key"));
	assert_int_equal(strncmp(errs.msgs[0], path, strlen(path)), 0);
	config_errors_free(&errs);

	f = fopen(path, "w");
	fputs("region: ap-south-1\n", f);
	fclose(f);
	assert_int_equal(config_load(path, &cfg, &errs), 0);
	assert_string_equal(cfg->region, "ap-south-1");
	config_free(cfg);

	/* A directory is not a config file. */
	assert_true(config_load(dir, &cfg, &errs) < 0);
	assert_int_equal(errs.n, 1);
	config_errors_free(&errs);
	unlink(path);
	rmdir(dir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_defaults),	 cmocka_unit_test(test_packaged_file),
		cmocka_unit_test(test_every_key),	 cmocka_unit_test(test_errors),
		cmocka_unit_test(test_file_errors),	 cmocka_unit_test(test_dataplane_keys),
		cmocka_unit_test(test_dataplane_errors), cmocka_unit_test(test_xdp_keys),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
