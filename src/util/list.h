/*
 * list.h - the one doubly linked list: intrusive and circular.
 *
 * The owner embeds a struct list_node in its object (one per list it can
 * be on) and the list head is a struct list_node too, so insertion and
 * removal need no allocation and no special case for the ends.  A node
 * that is on no list points at itself (list_node_init()), which makes
 * list_unlink() safe to call twice.
 */
#ifndef KV_UTIL_LIST_H
#define KV_UTIL_LIST_H

#include <stdbool.h>
#include <stddef.h>

struct list_node {
	struct list_node *prev, *next;
};

#define LIST_HEAD_INIT(name) {&(name), &(name)}

static inline void list_init(struct list_node *head)
{
	head->prev = head->next = head;
}

/* For nodes: "on no list". */
static inline void list_node_init(struct list_node *n)
{
	list_init(n);
}

static inline bool list_empty(const struct list_node *head)
{
	return head->next == head;
}

/* True when n is on a list (was inserted and not unlinked since). */
static inline bool list_linked(const struct list_node *n)
{
	return n->next != n;
}

/* Insert n after pos (pos may be the head: n becomes the first). */
static inline void list_insert_after(struct list_node *pos, struct list_node *n)
{
	n->prev = pos;
	n->next = pos->next;
	pos->next->prev = n;
	pos->next = n;
}

/* Insert n before pos (pos the head: n becomes the last). */
static inline void list_insert_before(struct list_node *pos, struct list_node *n)
{
	list_insert_after(pos->prev, n);
}

static inline void list_push_front(struct list_node *head, struct list_node *n)
{
	list_insert_after(head, n);
}

static inline void list_push_back(struct list_node *head, struct list_node *n)
{
	list_insert_before(head, n);
}

static inline void list_unlink(struct list_node *n)
{
	n->prev->next = n->next;
	n->next->prev = n->prev;
	list_node_init(n);
}

/* First or last node, NULL when empty. */
static inline struct list_node *list_first(const struct list_node *head)
{
	return list_empty(head) ? NULL : head->next;
}

static inline struct list_node *list_last(const struct list_node *head)
{
	return list_empty(head) ? NULL : head->prev;
}

/*
 * Unlink and return the first or the last node, NULL when empty: for
 * queues.  They write the head's own link rather than go through the
 * node's, so that clang's analyzer, which does not know that the first
 * node's prev is the head, sees the node leave the list before it is
 * freed.
 */
static inline struct list_node *list_pop_front(struct list_node *head)
{
	struct list_node *n = head->next;

	if (n == head)
		return NULL;
	head->next = n->next;
	n->next->prev = head;
	list_node_init(n);
	return n;
}

static inline struct list_node *list_pop_back(struct list_node *head)
{
	struct list_node *n = head->prev;

	if (n == head)
		return NULL;
	head->prev = n->prev;
	n->prev->next = head;
	list_node_init(n);
	return n;
}

/* The object that embeds node n as its member field. */
#define list_entry(n, type, field) \
	((type *)(void *)((char *)(n) - offsetof(type, field)))

/* it: a struct list_node *; the body must not unlink it (use _safe). */
#define list_foreach(it, head) \
	for ((it) = (head)->next; (it) != (head); (it) = (it)->next)

/* The body may unlink (and free the owner of) it. */
#define list_foreach_safe(it, tmp, head) \
	for ((it) = (head)->next, (tmp) = (it)->next; (it) != (head); \
	     (it) = (tmp), (tmp) = (it)->next)

#endif
