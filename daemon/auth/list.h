/* SPDX-License-Identifier: Apache-2.0 */
/*
 * A circular doubly-linked list with the links embedded in the listed
 * objects, so adding and removing never allocate and removal is O(1). An
 * empty list is a head that points at itself; auth_list_del() leaves the
 * removed node self-linked, so deleting twice is harmless.
 */
#ifndef TG_DAEMON_AUTH_LIST_H
#define TG_DAEMON_AUTH_LIST_H

#include <stdbool.h>
#include <stddef.h>

#include "compiler.h"

struct auth_list {
	struct auth_list *prev;
	struct auth_list *next;
};

static inline void auth_list_init(struct auth_list *l)
{
	l->prev = l;
	l->next = l;
}

static inline bool auth_list_empty(const struct auth_list *l)
{
	return l->next == l;
}

static inline void auth_list_add_tail(struct auth_list *head, struct auth_list *n)
{
	n->prev = head->prev;
	n->next = head;
	head->prev->next = n;
	head->prev = n;
}

static inline void auth_list_add_head(struct auth_list *head, struct auth_list *n)
{
	auth_list_add_tail(head->next, n);
}

static inline void auth_list_del(struct auth_list *n)
{
	n->prev->next = n->next;
	n->next->prev = n->prev;
	auth_list_init(n);
}

/* Moves every node of @from to the end of @to; @from is left empty. */
static inline void auth_list_splice_tail(struct auth_list *to, struct auth_list *from)
{
	if (auth_list_empty(from))
		return;
	from->next->prev = to->prev;
	to->prev->next = from->next;
	from->prev->next = to;
	to->prev = from->prev;
	auth_list_init(from);
}

/* The first node of @l or NULL when it is empty. */
static inline struct auth_list *auth_list_first(const struct auth_list *l)
{
	return auth_list_empty(l) ? NULL : l->next;
}

#define auth_list_entry(node, type, member) container_of(node, type, member)

#endif /* TG_DAEMON_AUTH_LIST_H */
