/* SPDX-License-Identifier: Apache-2.0 */
/*
 * MQTT 3.1.1 and 5.0 packets: the framing, packet and connection-state layers
 * of the codec (mqtt_codec.h holds the primitives below them).
 *
 * - Framing: struct mqtt_reader lives in the connection and is fed bytes as
 *   they arrive, in any split (one byte at a time works). It checks the fixed
 *   header (type, reserved flags, Remaining Length of at most 4 bytes in
 *   shortest form) and the maximum packet size before buffering anything, and
 *   hands out whole packets. A packet that arrived whole is handed out in
 *   place (no copy); only a packet split across feeds is assembled in the
 *   reader's buffer, which is allocated once (up to MQTT_READER_KEEP bytes it
 *   is kept for the next packet, larger ones are released, and
 *   mqtt_reader_trim() drops it on an idle connection).
 * - Packets: mqtt_parse() turns one packet into a struct mqtt_packet whose
 *   strings and lists are views into the packet bytes (valid as long as they
 *   are), and keeps the raw bytes so an allowed packet is relayed unchanged.
 *   mqtt_build() computes the exact size first, then writes. Every packet type
 *   of both versions and every MQTT 5 property is handled; a property is
 *   accepted only in the packets the specification lists for it, and only
 *   once unless it is a User Property (or a Subscription Identifier in a
 *   PUBLISH).
 * - Connection state: struct mqtt_session wraps the reader, knows its role
 *   (we are the server a device connected to, or the client of a broker), and
 *   refuses packets the state or the direction does not allow (first packet
 *   CONNECT, no second CONNECT, no CONNACK from a device, ...).
 *
 * A worker uses it like this (server role):
 *
 *	mqtt_session_init(&c->mqtt, MQTT_ROLE_SERVER, max_connect, max_packet);
 *	arm a timer of mqtt_connect_timeout_ms();
 *	on plaintext (p, len):
 *		while (len) {
 *			rc = mqtt_session_feed(&c->mqtt, p, len, &used, &pkt);
 *			p += used, len -= used;
 *			if (rc == MQTT_AGAIN)
 *				break;
 *			if (rc) {
 *				queue mqtt_session_error_reply(&c->mqtt, buf, cap) bytes;
 *				mqtt_session_log_error(&c->mqtt, peer);
 *				close after the send;
 *			}
 *			check pkt against the policy, relay pkt.raw / pkt.raw_len;
 *		}
 *	to answer CONNECT: mqtt_build(&connack, ...), mqtt_session_sent(&c->mqtt,
 *	&connack), arm mqtt_keepalive_timeout_ms(keep alive), re-armed by every
 *	packet; when it fires, mqtt_session_set_error(MQTT_ERR_KEEP_ALIVE_TIMEOUT).
 *
 * The views in pkt live until the next feed: what must outlive it (CONNECT's
 * credentials while the authorizer runs) is copied by the caller, who also
 * stops feeding until CONNACK is sent (MQTT 5 3.1.4: no processing before).
 *
 * Nothing here allocates per packet or blocks, and only
 * mqtt_session_log_error() logs; errors come back as an enum mqtt_err naming
 * the MQTT 5 reason code to send, with a struct mqtt_diag saying which field
 * was wrong, why, and where, for the log line.
 */
#ifndef TG_DAEMON_MQTT_H
#define TG_DAEMON_MQTT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "mqtt_codec.h"

/* Protocol Level byte of CONNECT. */
#define MQTT_V311 4
#define MQTT_V5 5

enum mqtt_type {
	MQTT_CONNECT = 1,
	MQTT_CONNACK = 2,
	MQTT_PUBLISH = 3,
	MQTT_PUBACK = 4,
	MQTT_PUBREC = 5,
	MQTT_PUBREL = 6,
	MQTT_PUBCOMP = 7,
	MQTT_SUBSCRIBE = 8,
	MQTT_SUBACK = 9,
	MQTT_UNSUBSCRIBE = 10,
	MQTT_UNSUBACK = 11,
	MQTT_PINGREQ = 12,
	MQTT_PINGRESP = 13,
	MQTT_DISCONNECT = 14,
	MQTT_AUTH = 15, /* MQTT 5 only */
};

/* MQTT 5 reason codes (2.4). */
enum mqtt_rc {
	MQTT_RC_SUCCESS = 0x00, /* also Normal disconnection, Granted QoS 0 */
	MQTT_RC_GRANTED_QOS1 = 0x01,
	MQTT_RC_GRANTED_QOS2 = 0x02,
	MQTT_RC_DISCONNECT_WITH_WILL = 0x04,
	MQTT_RC_NO_MATCHING_SUBSCRIBERS = 0x10,
	MQTT_RC_NO_SUBSCRIPTION_EXISTED = 0x11,
	MQTT_RC_CONTINUE_AUTHENTICATION = 0x18,
	MQTT_RC_REAUTHENTICATE = 0x19,
	MQTT_RC_UNSPECIFIED = 0x80,
	MQTT_RC_MALFORMED_PACKET = 0x81,
	MQTT_RC_PROTOCOL_ERROR = 0x82,
	MQTT_RC_IMPLEMENTATION_SPECIFIC = 0x83,
	MQTT_RC_UNSUPPORTED_PROTOCOL_VERSION = 0x84,
	MQTT_RC_CLIENT_ID_NOT_VALID = 0x85,
	MQTT_RC_BAD_USERNAME_OR_PASSWORD = 0x86,
	MQTT_RC_NOT_AUTHORIZED = 0x87,
	MQTT_RC_SERVER_UNAVAILABLE = 0x88,
	MQTT_RC_SERVER_BUSY = 0x89,
	MQTT_RC_BANNED = 0x8A,
	MQTT_RC_SERVER_SHUTTING_DOWN = 0x8B,
	MQTT_RC_BAD_AUTHENTICATION_METHOD = 0x8C,
	MQTT_RC_KEEP_ALIVE_TIMEOUT = 0x8D,
	MQTT_RC_SESSION_TAKEN_OVER = 0x8E,
	MQTT_RC_TOPIC_FILTER_INVALID = 0x8F,
	MQTT_RC_TOPIC_NAME_INVALID = 0x90,
	MQTT_RC_PACKET_ID_IN_USE = 0x91,
	MQTT_RC_PACKET_ID_NOT_FOUND = 0x92,
	MQTT_RC_RECEIVE_MAXIMUM_EXCEEDED = 0x93,
	MQTT_RC_TOPIC_ALIAS_INVALID = 0x94,
	MQTT_RC_PACKET_TOO_LARGE = 0x95,
	MQTT_RC_MESSAGE_RATE_TOO_HIGH = 0x96,
	MQTT_RC_QUOTA_EXCEEDED = 0x97,
	MQTT_RC_ADMINISTRATIVE_ACTION = 0x98,
	MQTT_RC_PAYLOAD_FORMAT_INVALID = 0x99,
	MQTT_RC_RETAIN_NOT_SUPPORTED = 0x9A,
	MQTT_RC_QOS_NOT_SUPPORTED = 0x9B,
	MQTT_RC_USE_ANOTHER_SERVER = 0x9C,
	MQTT_RC_SERVER_MOVED = 0x9D,
	MQTT_RC_SHARED_SUBS_NOT_SUPPORTED = 0x9E,
	MQTT_RC_CONNECTION_RATE_EXCEEDED = 0x9F,
	MQTT_RC_MAXIMUM_CONNECT_TIME = 0xA0,
	MQTT_RC_SUB_IDS_NOT_SUPPORTED = 0xA1,
	MQTT_RC_WILDCARD_SUBS_NOT_SUPPORTED = 0xA2,
};

/* MQTT 3.1.1 CONNACK return codes (3.2.2.3) and the SUBACK failure code. */
enum mqtt_v3_rc {
	MQTT_V3_ACCEPTED = 0,
	MQTT_V3_BAD_PROTOCOL_VERSION = 1,
	MQTT_V3_IDENTIFIER_REJECTED = 2,
	MQTT_V3_SERVER_UNAVAILABLE = 3,
	MQTT_V3_BAD_USERNAME_OR_PASSWORD = 4,
	MQTT_V3_NOT_AUTHORIZED = 5,
	MQTT_V3_SUBACK_FAILURE = 0x80,
};

/* MQTT 5 property identifiers (2.2.2.2). */
enum mqtt_prop_id {
	MQTT_PROP_PAYLOAD_FORMAT = 0x01,
	MQTT_PROP_MESSAGE_EXPIRY = 0x02,
	MQTT_PROP_CONTENT_TYPE = 0x03,
	MQTT_PROP_RESPONSE_TOPIC = 0x08,
	MQTT_PROP_CORRELATION_DATA = 0x09,
	MQTT_PROP_SUB_ID = 0x0B,
	MQTT_PROP_SESSION_EXPIRY = 0x11,
	MQTT_PROP_ASSIGNED_CLIENT_ID = 0x12,
	MQTT_PROP_SERVER_KEEP_ALIVE = 0x13,
	MQTT_PROP_AUTH_METHOD = 0x15,
	MQTT_PROP_AUTH_DATA = 0x16,
	MQTT_PROP_REQUEST_PROBLEM_INFO = 0x17,
	MQTT_PROP_WILL_DELAY = 0x18,
	MQTT_PROP_REQUEST_RESPONSE_INFO = 0x19,
	MQTT_PROP_RESPONSE_INFO = 0x1A,
	MQTT_PROP_SERVER_REFERENCE = 0x1C,
	MQTT_PROP_REASON_STRING = 0x1F,
	MQTT_PROP_RECEIVE_MAX = 0x21,
	MQTT_PROP_TOPIC_ALIAS_MAX = 0x22,
	MQTT_PROP_TOPIC_ALIAS = 0x23,
	MQTT_PROP_MAX_QOS = 0x24,
	MQTT_PROP_RETAIN_AVAILABLE = 0x25,
	MQTT_PROP_USER = 0x26,
	MQTT_PROP_MAX_PACKET_SIZE = 0x27,
	MQTT_PROP_WILDCARD_SUB_AVAILABLE = 0x28,
	MQTT_PROP_SUB_ID_AVAILABLE = 0x29,
	MQTT_PROP_SHARED_SUB_AVAILABLE = 0x2A,
};

#define MQTT_PROP_BIT(id) (1ull << (id))
/* The "packet type" under which Will Properties are checked. */
#define MQTT_PROPS_WILL 0

/*
 * MQTT 5 properties of one packet (or of a CONNECT's will). A single-valued
 * property is set when its MQTT_PROP_BIT is in @present; fields whose bit is
 * clear are undefined after a parse and ignored by a build.
 *
 * The repeatable ones are counted instead: User Properties (@n_user) and
 * Subscription Identifiers (@n_sub_id, several only in a PUBLISH from a
 * server). Walk them with mqtt_props_next_user() / mqtt_props_next_sub_id():
 * - after a parse, @user is NULL and they are read from @block, the packet's
 *   whole property block in wire form; @sub_id is the first identifier;
 * - to build, set @user to @n_user pairs, or leave it NULL to copy every User
 *   Property found in @block; Subscription Identifiers are copied from @block
 *   when it is set, else the single @sub_id is written when @n_sub_id is 1.
 * Built properties are written in identifier order.
 */
struct mqtt_props {
	uint64_t present;		  /* MQTT_PROP_BIT(id) of each single-valued property set */
	uint32_t message_expiry;	  /* 0x02 Message Expiry Interval, s */
	uint32_t session_expiry;	  /* 0x11 Session Expiry Interval, s */
	uint32_t will_delay;		  /* 0x18 Will Delay Interval, s */
	uint32_t max_packet_size;	  /* 0x27 Maximum Packet Size, non-zero */
	uint16_t server_keep_alive;	  /* 0x13 Server Keep Alive, s */
	uint16_t receive_max;		  /* 0x21 Receive Maximum, non-zero */
	uint16_t topic_alias_max;	  /* 0x22 Topic Alias Maximum */
	uint16_t topic_alias;		  /* 0x23 Topic Alias, non-zero */
	uint8_t payload_format;		  /* 0x01 Payload Format Indicator, 0 or 1 */
	uint8_t request_problem_info;	  /* 0x17, 0 or 1 */
	uint8_t request_response_info;	  /* 0x19, 0 or 1 */
	uint8_t max_qos;		  /* 0x24 Maximum QoS, 0 or 1 */
	uint8_t retain_available;	  /* 0x25, 0 or 1 */
	uint8_t wildcard_sub_available;	  /* 0x28, 0 or 1 */
	uint8_t sub_id_available;	  /* 0x29, 0 or 1 */
	uint8_t shared_sub_available;	  /* 0x2A, 0 or 1 */
	struct mqtt_str content_type;	  /* 0x03 */
	struct mqtt_str response_topic;	  /* 0x08, a topic name */
	struct mqtt_bin correlation_data; /* 0x09 */
	struct mqtt_str assigned_client_id; /* 0x12 */
	struct mqtt_str auth_method;	    /* 0x15 */
	struct mqtt_bin auth_data;	    /* 0x16 */
	struct mqtt_str response_info;	    /* 0x1A */
	struct mqtt_str server_reference;   /* 0x1C */
	struct mqtt_str reason_string;	    /* 0x1F */
	uint32_t n_user;		    /* 0x26 User Properties */
	uint32_t n_sub_id;		    /* 0x0B Subscription Identifiers */
	uint32_t sub_id;		    /* the first (or only) Subscription Identifier */
	const struct mqtt_str_pair *user;   /* build: the @n_user pairs, or NULL (see above) */
	const uint8_t *block;		    /* property block in wire form, or NULL */
	uint32_t block_len;
};

/* Iteration state for the *_next() walkers; start from {0}. */
struct mqtt_iter {
	uint32_t off; /* byte offset in a wire-form list */
	uint32_t idx; /* index in an array */
};

struct mqtt_connect {
	uint8_t version;     /* parse: Protocol Level (4 or 5); build uses its version argument */
	bool clean_start;    /* Clean Session (3.1.1) / Clean Start (5) */
	uint16_t keep_alive; /* s; 0: no keep-alive */
	struct mqtt_props props;
	struct mqtt_str client_id;
	bool will;
	uint8_t will_qos;
	bool will_retain;
	struct mqtt_props will_props; /* MQTT 5 */
	struct mqtt_str will_topic;
	struct mqtt_bin will_payload;
	bool has_username;
	struct mqtt_str username;
	bool has_password;
	struct mqtt_bin password;
};

struct mqtt_connack {
	bool session_present;
	uint8_t code; /* 3.1.1 return code (enum mqtt_v3_rc) or MQTT 5 reason code */
	struct mqtt_props props;
};

struct mqtt_publish {
	uint8_t qos;
	bool retain;
	bool dup;
	struct mqtt_str topic; /* may be empty in MQTT 5 when a Topic Alias is set */
	uint16_t packet_id;    /* QoS 1 and 2 only */
	struct mqtt_props props;
	const uint8_t *payload;
	uint32_t payload_len;
};

/* PUBACK, PUBREC, PUBREL, PUBCOMP. */
struct mqtt_ack {
	uint16_t packet_id;
	uint8_t reason; /* MQTT 5 */
	struct mqtt_props props;
};

/* Subscription options (3.8.3.1). */
#define MQTT_SUB_QOS_MASK 0x03
#define MQTT_SUB_NO_LOCAL 0x04
#define MQTT_SUB_RETAIN_AS_PUBLISHED 0x08
#define MQTT_SUB_RETAIN_HANDLING_SHIFT 4

struct mqtt_sub {
	struct mqtt_str filter;
	uint8_t options; /* 3.1.1: the requested QoS only */
};

/*
 * The topic filters of a SUBSCRIBE / UNSUBSCRIBE. After a parse @subs /
 * @filters is NULL and the @n entries are read from @list (the payload in
 * wire form); to build, point @subs / @filters at @n entries, or leave it NULL
 * to copy @list. Walk them with mqtt_subscribe_next() / mqtt_unsubscribe_next().
 */
struct mqtt_subscribe {
	uint16_t packet_id;
	struct mqtt_props props;
	uint32_t n;
	const struct mqtt_sub *subs;
	const uint8_t *list;
	uint32_t list_len;
};

struct mqtt_unsubscribe {
	uint16_t packet_id;
	struct mqtt_props props;
	uint32_t n;
	const struct mqtt_str *filters;
	const uint8_t *list;
	uint32_t list_len;
};

/* SUBACK and UNSUBACK (whose codes exist only in MQTT 5). */
struct mqtt_suback {
	uint16_t packet_id;
	struct mqtt_props props;
	const uint8_t *codes; /* one per filter, in order */
	uint32_t n;
};

/* DISCONNECT and AUTH. */
struct mqtt_disconnect {
	uint8_t reason; /* MQTT 5 */
	struct mqtt_props props;
};

struct mqtt_packet {
	enum mqtt_type type;
	const uint8_t *raw; /* parse: the whole packet as received, for relaying */
	uint32_t raw_len;
	union {
		struct mqtt_connect connect;
		struct mqtt_connack connack;
		struct mqtt_publish publish;
		struct mqtt_ack ack; /* PUBACK, PUBREC, PUBREL, PUBCOMP */
		struct mqtt_subscribe subscribe;
		struct mqtt_suback suback;
		struct mqtt_unsubscribe unsubscribe;
		struct mqtt_suback unsuback;
		struct mqtt_disconnect disconnect;
		struct mqtt_disconnect auth;
	};
};

/* Why parsing failed, for the log line (see mqtt_diag_format()). */
struct mqtt_diag {
	const char *field; /* e.g. "topic name", "property 0x23" */
	const char *why;   /* e.g. "wildcard in a topic name" */
	uint32_t offset;   /* byte offset of the field in the packet */
	uint32_t len;	   /* packet length when known, else 0 */
	uint8_t type;	   /* packet type when known, else 0 */
};

/* One whole packet handed out by mqtt_reader_feed(). */
struct mqtt_frame {
	const uint8_t *raw; /* fixed header included */
	uint32_t len;
	uint8_t hdr_len; /* 2..5 */
};

#define MQTT_READER_KEEP 4096 /* assembly buffers up to this size are kept between packets */

struct mqtt_reader {
	uint8_t *buf;	     /* assembly buffer of split packets; owned */
	uint32_t cap;	     /* its size */
	uint32_t have;	     /* bytes of the current packet received so far */
	uint32_t need;	     /* its total length once the fixed header is complete, else 0 */
	uint32_t max_packet; /* largest packet accepted, fixed header included */
	uint8_t hdr[5];	     /* fixed header bytes while it is incomplete */
	uint8_t hdr_len;     /* fixed header length once complete */
};

enum mqtt_role {
	MQTT_ROLE_SERVER, /* a device connected to us: we receive CONNECT */
	MQTT_ROLE_CLIENT, /* we connected to a broker: we receive CONNACK */
};

enum mqtt_state {
	MQTT_ST_NEW,	    /* nothing exchanged yet */
	MQTT_ST_CONNECTING, /* server: CONNECT received; client: CONNECT sent; no CONNACK yet */
	MQTT_ST_CONNECTED,  /* an accepting CONNACK was sent (server) or received (client) */
	MQTT_ST_CLOSED,	    /* DISCONNECT either way, or a refusing CONNACK */
};

struct mqtt_session {
	struct mqtt_reader rd;
	struct mqtt_diag diag;	  /* details of the error that closed the session */
	uint32_t max_packet;	  /* limit on received packets once connected */
	uint16_t topic_alias_max; /* highest Topic Alias the peer may send (we advertised) */
	uint8_t role;		  /* enum mqtt_role */
	uint8_t state;		  /* enum mqtt_state */
	uint8_t version;	  /* MQTT_V311 or MQTT_V5; 0 until known */
	uint8_t err;		  /* enum mqtt_err that ended the session, else MQTT_OK */
	bool auth_method;	  /* CONNECT carried an Authentication Method: AUTH allowed */
	bool session_expiry_zero; /* CONNECT's Session Expiry was 0 (DISCONNECT may not raise it) */
};

const char *mqtt_type_name(uint8_t type);
const char *mqtt_err_str(enum mqtt_err err);

/* The MQTT 5 reason code naming @err (CONNACK or DISCONNECT). */
static inline uint8_t mqtt_err_reason(enum mqtt_err err)
{
	return (uint8_t)err;
}

/*
 * Time a device has to send CONNECT once its connection is up (TLS done).
 * The specification asks for "a reasonable amount of time"; 10 s, the
 * no-connect idle timeout HiveMQ uses by default.
 */
uint32_t mqtt_connect_timeout_ms(void);
/*
 * Time without any packet from the peer after which the connection is closed:
 * one and a half times the Keep Alive (MQTT 3.1.2.10, 5 3.1.2.10), in ms. 0
 * for a Keep Alive of 0 (no timeout). @keep_alive is the effective value: the
 * CONNECT's, or the Server Keep Alive we returned in CONNACK.
 */
uint64_t mqtt_keepalive_timeout_ms(uint16_t keep_alive);

/* True when @rc is a reason code an MQTT 5 packet of @type may carry. */
bool mqtt_rc_valid(uint8_t type, uint8_t rc);
/*
 * Checks the first byte of a fixed header: packet type not 0, reserved flags
 * as specified, PUBLISH QoS not 3 and no DUP on QoS 0. NULL or a reason.
 */
const char *mqtt_fixed_header_check(uint8_t b0);

/* "PUBLISH (37 bytes): topic name at byte 2: wildcard in a topic name" into @buf. */
void mqtt_diag_format(const struct mqtt_diag *d, char *buf, size_t size);

/*
 * Topic Name rules (4.7): at least one character, no wildcard ('+' or '#').
 * UTF-8 validity is checked by the reader. Returns NULL or a static reason.
 */
const char *mqtt_topic_name_check(const char *topic, size_t len);
/*
 * Topic Filter rules (4.7.1): at least one character; '#' alone in the last
 * level; '+' alone in its level. MQTT 5 shared subscriptions
 * ("$share/<name>/<filter>"): name non-empty without '/', '+' or '#',
 * followed by a valid filter. Returns NULL or a static reason.
 */
const char *mqtt_topic_filter_check(const char *filter, size_t len, uint8_t version);
/* True for an MQTT 5 shared-subscription filter ("$share/..."). */
bool mqtt_topic_filter_is_shared(const char *filter, size_t len);

/*
 * Parses the whole packet @f (from mqtt_reader_feed()) of protocol @version
 * (ignored for CONNECT, whose own level is used) into @out, which holds views
 * into @f->raw. Returns MQTT_OK, or an error with @d filled. An MQTT 5
 * CONNACK in 3.1.1 form with code 0x01 (a 3.1.1-only server refusing an
 * MQTT 5 CONNECT) is returned as code 0x84 Unsupported Protocol Version.
 */
enum mqtt_err mqtt_parse(const struct mqtt_frame *f, uint8_t version, struct mqtt_packet *out,
			 struct mqtt_diag *d);

/*
 * Encoded size of @pkt in protocol @version, fixed header included; 0 when
 * it cannot be encoded (over the largest Remaining Length). 3.1.1 has no
 * properties: those of @pkt are not written, nor are MQTT 5 reason codes.
 */
size_t mqtt_packet_size(const struct mqtt_packet *pkt, uint8_t version);
/*
 * Writes @pkt into @buf. Returns the bytes written, or 0 (nothing written)
 * when they would not fit in @cap or the packet cannot be encoded. @pkt must
 * be valid for its type (the builder asserts QoS, flags and properties).
 */
size_t mqtt_build(const struct mqtt_packet *pkt, uint8_t version, uint8_t *buf, size_t cap);

/*
 * The SUBACK codes for a device whose SUBSCRIBE was partly refused by policy:
 * @denied[i] says whether its filter i (of @n) was refused; the @n_granted
 * codes of @granted (the broker's SUBACK to the filters forwarded, in order)
 * answer the others. Writes @n codes into @out, @deny_code for the refused
 * (MQTT_V3_SUBACK_FAILURE or MQTT_RC_NOT_AUTHORIZED, decisions.md #14).
 * Returns 0, or -EINVAL when @n_granted is not the number of filters allowed.
 */
int mqtt_suback_merge(const bool *denied, uint32_t n, const uint8_t *granted, uint32_t n_granted,
		      uint8_t deny_code, uint8_t *out);

/* Iterators over repeatable properties and filter lists; true while one is returned. */
bool mqtt_props_next_user(const struct mqtt_props *p, struct mqtt_iter *it,
			  struct mqtt_str_pair *out);
bool mqtt_props_next_sub_id(const struct mqtt_props *p, struct mqtt_iter *it, uint32_t *out);
bool mqtt_subscribe_next(const struct mqtt_subscribe *s, struct mqtt_iter *it,
			 struct mqtt_sub *out);
bool mqtt_unsubscribe_next(const struct mqtt_unsubscribe *u, struct mqtt_iter *it,
			   struct mqtt_str *out);

/* A reader accepting packets of at most @max_packet bytes (fixed header included). */
void mqtt_reader_init(struct mqtt_reader *r, uint32_t max_packet);
/* Releases the assembly buffer; the reader may be initialised again. */
void mqtt_reader_fini(struct mqtt_reader *r);
/*
 * Releases the assembly buffer unless a packet is half received, so an idle
 * connection holds none (call it from an idle timer; the next split packet
 * allocates again).
 */
void mqtt_reader_trim(struct mqtt_reader *r);
/*
 * Consumes bytes of @in (@len of them) until one packet is complete. Returns
 * MQTT_OK with @out set and *@consumed bytes used (call again for the rest),
 * MQTT_AGAIN when all of @in was used and no packet is complete yet, or an
 * error (@d filled; the connection must be closed, the reader not fed again).
 * @out points into @in or into the reader's buffer: it is valid until the
 * next call, and no longer than @in.
 */
enum mqtt_err mqtt_reader_feed(struct mqtt_reader *r, const uint8_t *in, size_t len,
			       size_t *consumed, struct mqtt_frame *out, struct mqtt_diag *d);

/*
 * A connection's receiving side. Until connected only packets of at most
 * @max_connect bytes are accepted (an unauthenticated device cannot make us
 * buffer more); then @max_packet, or the Maximum Packet Size we advertised if
 * smaller. A client-role session learns its version from the CONNECT it sends
 * (mqtt_session_sent()). Release with mqtt_session_fini().
 */
void mqtt_session_init(struct mqtt_session *s, enum mqtt_role role, uint32_t max_connect,
		       uint32_t max_packet);
void mqtt_session_fini(struct mqtt_session *s);
/*
 * As mqtt_reader_feed(), then parses the packet into @pkt and checks it
 * against the session state and direction. An error closes the session:
 * s->diag says why, every later call returns the same error, and
 * mqtt_session_error_reply() builds what to send before closing.
 */
enum mqtt_err mqtt_session_feed(struct mqtt_session *s, const uint8_t *in, size_t len,
				size_t *consumed, struct mqtt_packet *pkt);
/*
 * Records a packet we send on this connection, for what it constrains on the
 * receiving side: CONNECT (client role: its version field says which protocol
 * it was built for; Authentication Method, our limits), CONNACK (server role: our Topic Alias Maximum and Maximum Packet
 * Size; a refusal closes), DISCONNECT (closes). Returns MQTT_ERR_PROTOCOL if
 * the packet may not be sent in this role and state (a bug of the caller).
 */
enum mqtt_err mqtt_session_sent(struct mqtt_session *s, const struct mqtt_packet *pkt);
/*
 * Ends the session with @err for a reason found outside the codec, e.g.
 * MQTT_ERR_KEEP_ALIVE_TIMEOUT when the keep-alive timer fires (@why: a static
 * string for the log). Later feeds fail with @err, and
 * mqtt_session_error_reply() and mqtt_session_log_error() work as after a
 * codec error.
 */
void mqtt_session_set_error(struct mqtt_session *s, enum mqtt_err err, const char *why);
/*
 * Logs at debug level (a peer's protocol errors never log louder) why the
 * session ended: "mqtt <peer>: malformed packet (0x81): PUBLISH (7 bytes):
 * topic name at byte 2: wildcard in a topic name". @peer names the
 * connection (id and address).
 */
void mqtt_session_log_error(const struct mqtt_session *s, const char *peer);
/*
 * After mqtt_session_feed() failed: builds into @buf the packet to send
 * before closing (MQTT 5: CONNACK or DISCONNECT with the reason code; 3.1.1:
 * a CONNACK only for an unsupported version or a rejected client id). Returns
 * its size, or 0 when nothing is to be sent.
 */
size_t mqtt_session_error_reply(const struct mqtt_session *s, uint8_t *buf, size_t cap);

#endif /* TG_DAEMON_MQTT_H */
