"""The classifier's MLflow logger when its tracking server does not answer: one warning, the training goes on
without live metrics; an error the server answered with still stops it."""

from __future__ import annotations

import socket

import pytest


def _dead_server() -> str:
    with socket.socket() as s:  # a free loopback port nobody listens on: connections are refused
        s.bind(("127.0.0.1", 0))
        return f"http://127.0.0.1:{s.getsockname()[1]}"


def test_a_server_that_does_not_answer_stops_the_logging_not_the_training(monkeypatch, capsys):
    from classifier.training import KeepOpenMLFlowLogger

    monkeypatch.setenv("MLFLOW_HTTP_REQUEST_MAX_RETRIES", "0")  # refused at once, not after MLflow's retries
    url = _dead_server()
    logger = KeepOpenMLFlowLogger(experiment_name="x", tracking_uri=url, run_id="abc", keep_open=True)
    logger.log_hyperparams({"classifier.lr": 0.01})
    logger.log_metrics({"val/loss": 0.5}, step=1)
    logger.finalize("success")
    out = capsys.readouterr().out
    assert f"warning: the MLflow tracking server {url} does not answer (log_hyperparams: " in out
    assert out.count("does not answer") == 1
    assert logger.offline.startswith("log_hyperparams")


def test_an_error_the_server_answered_with_still_raises(monkeypatch):
    from lightning.pytorch.loggers import MLFlowLogger

    from classifier.training import KeepOpenMLFlowLogger

    def refuse(self, params):
        raise ValueError("INVALID_PARAMETER_VALUE: param 'lr' was already logged with another value")

    monkeypatch.setattr(MLFlowLogger, "log_hyperparams", refuse)
    logger = KeepOpenMLFlowLogger(experiment_name="x", tracking_uri=_dead_server(), run_id="abc", keep_open=True)
    with pytest.raises(ValueError, match="INVALID_PARAMETER_VALUE"):
        logger.log_hyperparams({"lr": 1})
    assert logger.offline is None
