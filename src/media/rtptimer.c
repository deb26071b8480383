/*
 * rtptimer.c - pairing heap of worker deadlines (see rtptimer.h).
 *
 * Each node's children form a doubly linked list; the first child's prev
 * points at the parent, which is what lets a node anywhere in the heap be
 * cut out in O(1) before its children are merged back.  Merging the
 * children uses the standard two passes (pairs left to right, then the
 * pairs right to left), which keeps removal O(log n) amortized.
 */
#include <stddef.h>

#include "media/rtptimer.h"

void rtptimer_heap_init(struct rtptimer_heap *h)
{
	h->root = NULL;
	h->n = 0;
}

void rtptimer_init(struct rtptimer *t, void *arg)
{
	t->due = 0;
	t->child = t->next = t->prev = NULL;
	t->queued = false;
	t->arg = arg;
}

/* Both a and b are roots (no siblings, no parent); returns the new root. */
static struct rtptimer *meld(struct rtptimer *a, struct rtptimer *b)
{
	struct rtptimer *t;

	if (!a)
		return b;
	if (!b)
		return a;
	if (b->due < a->due) {
		t = a;
		a = b;
		b = t;
	}
	b->prev = a;
	b->next = a->child;
	if (a->child)
		a->child->prev = b;
	a->child = b;
	return a;
}

/* Merges a list of siblings into one heap. */
static struct rtptimer *merge_pairs(struct rtptimer *first)
{
	struct rtptimer *stack = NULL, *a, *b, *rest, *root = NULL;

	while (first) {
		a = first;
		b = a->next;
		rest = b ? b->next : NULL;
		a->next = a->prev = NULL;
		if (b) {
			b->next = b->prev = NULL;
			a = meld(a, b);
		}
		/* Pushed on a stack through next: the second pass runs right
		 * to left. */
		a->next = stack;
		stack = a;
		first = rest;
	}
	while (stack) {
		a = stack;
		stack = a->next;
		a->next = NULL;
		root = meld(root, a);
	}
	return root;
}

void rtptimer_del(struct rtptimer_heap *h, struct rtptimer *t)
{
	struct rtptimer *sub;

	if (!t->queued)
		return;
	if (t == h->root) {
		h->root = merge_pairs(t->child);
	} else {
		if (t->prev->child == t)
			t->prev->child = t->next;
		else
			t->prev->next = t->next;
		if (t->next)
			t->next->prev = t->prev;
		sub = merge_pairs(t->child);
		h->root = meld(h->root, sub);
	}
	t->child = t->next = t->prev = NULL;
	t->queued = false;
	h->n--;
}

void rtptimer_add(struct rtptimer_heap *h, struct rtptimer *t, uint64_t due)
{
	rtptimer_del(h, t);
	t->due = due;
	t->queued = true;
	h->root = meld(h->root, t);
	h->n++;
}
