"""Deliberately naive, loop-based metric references, written from the Kaggle/starter-code definitions
independently of yt8m_tfx.metrics_math (which must agree with them to 1e-6)."""


def reference_gap(predictions, labels, top_k=20):
    pooled = []
    total_positives = 0
    for scores, truth in zip(predictions, labels):
        total_positives += sum(1 for t in truth if t > 0)
        ranked = sorted(range(len(scores)), key=lambda c: scores[c], reverse=True)[:top_k]
        pooled.extend((float(scores[c]), truth[c] > 0) for c in ranked)
    # Highest score first; within an exact tie negatives first (the documented, order-free convention).
    pooled.sort(key=lambda pair: (-pair[0], pair[1]))
    hits, total = 0, 0.0
    for rank, (_, positive) in enumerate(pooled, start=1):
        if positive:
            hits += 1
            total += hits / rank
    return total / total_positives if total_positives else 0.0


def reference_hit_at_one(predictions, labels):
    hits = [truth[max(range(len(scores)), key=lambda c: scores[c])] > 0
            for scores, truth in zip(predictions, labels)]
    return sum(hits) / len(hits)


def reference_perr(predictions, labels):
    total = 0.0
    for scores, truth in zip(predictions, labels):
        num_labels = sum(1 for t in truth if t > 0)
        if num_labels == 0:
            continue
        top = sorted(range(len(scores)), key=lambda c: scores[c], reverse=True)[:num_labels]
        total += sum(1 for c in top if truth[c] > 0 and scores[c] > 0) / num_labels
    return total / len(predictions)


def reference_mean_ap(predictions, labels, top_k=20):
    """Per class: AP over the videos whose top_k holds that class; denominator = all its positives."""
    num_classes = len(predictions[0])
    per_class = {c: [] for c in range(num_classes)}
    for scores, truth in zip(predictions, labels):
        for c in sorted(range(num_classes), key=lambda c: scores[c], reverse=True)[:top_k]:
            per_class[c].append((float(scores[c]), truth[c] > 0))
    aps = []
    for c in range(num_classes):
        positives = sum(1 for truth in labels if truth[c] > 0)
        if positives == 0:
            continue
        items = sorted(per_class[c], key=lambda pair: (-pair[0], pair[1]))
        hits, total = 0, 0.0
        for rank, (_, positive) in enumerate(items, start=1):
            if positive:
                hits += 1
                total += hits / rank
        aps.append(total / positives)
    return sum(aps) / len(aps)
