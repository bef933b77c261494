"""How good is the model, and compared with what? Scores, a trivial baseline, the confusion matrix.

A score means little alone: 0.92 accuracy is poor when 92 % of the examples are one class.
So every test score is printed beside the score of a model that ignores the inputs:
the training set's most frequent class (classification) or its mean (regression).
"""
import torch


def predict(model, x, task):
    """Class indices [N], or predicted target values [N] (in the standardised units the model learned)."""
    outputs = model.forward(x)[0]
    return outputs.argmax(dim=1) if task == "classification" else outputs[:, 0]


def accuracy(y_pred, y):
    return (y_pred == y).float().mean().item()


def r2_score(y_pred, y):
    """R^2 = 1 - (squared error of the model) / (squared error of always predicting the mean of y).

    1 is perfect, 0 is no better than the mean, below 0 is worse than the mean.
    """
    return 1.0 - ((y - y_pred) ** 2).sum().item() / max(((y - y.mean()) ** 2).sum().item(), 1e-12)


def rmse(y_pred, y):
    """Root mean squared error, in the units of y."""
    return ((y - y_pred) ** 2).mean().sqrt().item()


def score(model, x, y, task):
    """The headline metric: accuracy for classification, R^2 for regression."""
    y_pred = predict(model, x, task)
    return accuracy(y_pred, y) if task == "classification" else r2_score(y_pred, y)


def confusion_matrix(y_true, y_pred, n_classes):
    """counts[i, j] = examples of true class i predicted as class j."""
    counts = torch.zeros(n_classes, n_classes, dtype=torch.long)
    for t, p in zip(y_true.tolist(), y_pred.tolist()):
        counts[t, p] += 1
    return counts


def test_report(model, data):
    """The model's test score beside the trivial baseline's, as a dict (what summary.json holds)."""
    y_pred = predict(model, data.x_test, data.task)
    if data.task == "classification":
        majority = torch.bincount(data.y_train, minlength=len(data.class_names)).argmax()
        baseline_pred = torch.full_like(data.y_test, majority)
        return {"task": "classification", "metric": "accuracy", "test_metric": accuracy(y_pred, data.y_test),
                "baseline_metric": accuracy(baseline_pred, data.y_test),
                "baseline": f"always {data.class_names[majority]!r}, the most frequent training class"}
    # back to the target's own units for the RMSE (R^2 is the same in either)
    y_real = data.y_test * data.target_std + data.target_mean
    y_pred_real = y_pred * data.target_std + data.target_mean
    baseline_real = torch.full_like(y_real, data.target_mean)       # the training mean
    return {"task": "regression", "metric": "r2", "test_metric": r2_score(y_pred_real, y_real),
            "baseline_metric": r2_score(baseline_real, y_real), "test_rmse": rmse(y_pred_real, y_real),
            "baseline_rmse": rmse(baseline_real, y_real),
            "baseline": f"always {data.target_mean:.4g}, the training mean"}


def format_report(report, target_name="the target"):
    """Text lines: the test score beside the baseline's (and the RMSE for regression)."""
    if report["task"] == "regression":
        return [f"test R^2 {report['test_metric']:.4f}   (baseline {report['baseline_metric']:.4f}: "
                f"{report['baseline']})",
                f"test RMSE {report['test_rmse']:.4g}   (baseline {report['baseline_rmse']:.4g}), in the units of "
                f"{target_name}"]
    return [f"test accuracy {report['test_metric']:.4f}   (baseline {report['baseline_metric']:.4f}: "
            f"{report['baseline']})"]


def format_confusion(counts, class_names, most_classes=15):
    """Rows: the true class; columns: the predicted one. The diagonal holds the right answers.
    With many classes the matrix is too wide to read: the most frequent mistakes instead."""
    if len(class_names) > most_classes:
        mistakes = sorted(((c, i, j) for i, row in enumerate(counts) for j, c in enumerate(row) if i != j and c),
                          reverse=True)[:10]
        return [f"{len(class_names)} classes (the confusion matrix is in summary.json); most frequent mistakes:"] + [
            f"  true {class_names[i]!r} predicted {class_names[j]!r}: {c}" for c, i, j in mistakes]
    names = [name[:12] for name in class_names]
    width = max(6, *(len(name) for name in names), *(len(str(c)) for row in counts for c in row))
    label = "true \\ predicted"
    label_width = max(len(label), *(len(name) for name in names)) + 2
    lines = [label.ljust(label_width) + "".join(name.rjust(width + 1) for name in names)]
    for name, row in zip(names, counts):
        lines.append(name.ljust(label_width) + "".join(str(c).rjust(width + 1) for c in row))
    return lines
