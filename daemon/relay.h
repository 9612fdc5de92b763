/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The MQTT side of a device connection: CONNECT to auth to the broker's
 * CONNACK, then every packet both ways checked against the connection's
 * policies (decisions.md #11, #14, #16, #18) and relayed. Called by worker.c
 * on the conn's thread; it writes through conn_dev_write()/conn_up_write().
 */
#ifndef TG_DAEMON_RELAY_H
#define TG_DAEMON_RELAY_H

#include <stdint.h>

#include "mqtt.h"

struct auth_result;
struct conn;

/* One packet from the device (already checked by its mqtt_session). */
void relay_device_packet(struct conn *c, const struct mqtt_packet *p);
/* One packet from the broker. */
void relay_broker_packet(struct conn *c, const struct mqtt_packet *p);
/* The auth engine answered (first connect or refresh); consumes @res. */
void relay_auth_done(struct conn *c, struct auth_result *res);
/* The broker connection failed or closed. */
void relay_broker_lost(struct conn *c, const char *why);
/* MQTT 5: queues DISCONNECT @reason for the device; nothing for 3.1.1. Then
 * closes with evlog reason @why. */
void relay_disconnect(struct conn *c, uint8_t reason, const char *why);
/* The device's session failed (malformed, protocol): reply as the session says, close. */
void relay_device_error(struct conn *c);

#endif /* TG_DAEMON_RELAY_H */
