# qyzj-analytics — `make` alone lists the targets. Every target that needs Python creates .venv
# and installs exactly the locked versions (uv.lock) first; it re-installs when pyproject.toml or
# the lock changes. uv comes from PATH, or is bootstrapped once with pip into .tools/.
SHELL := /bin/bash
.DEFAULT_GOAL := help

PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
LAB_STAMP := $(VENV)/.installed-lab
RAW ?= data/raw
SAMPLE_RAW := data/sample/raw
QUARTER ?= auto
# Jupyter refuses to start as root ("Running as root is not recommended") unless told to
LAB_FLAGS ?= $(if $(filter 0,$(shell id -u 2>/dev/null)),--allow-root)

UV_VERSION := 0.13.9
TOOLS := .tools
UV ?= $(or $(shell command -v uv 2>/dev/null),$(TOOLS)/bin/uv)
# uv uses the Python it finds (never downloads one) and syncs into .venv
export UV_PYTHON_DOWNLOADS := never
export UV_PROJECT_ENVIRONMENT := $(VENV)
EXPORT_FLAGS := --frozen --all-extras --no-emit-project --no-hashes --format requirements.txt

.PHONY: help install test lint format report sample lab lock bench clean-venv

help: ## 显示所有命令 (list targets)
	@awk 'BEGIN {FS = ":.*## "} /^[a-zA-Z_-]+:.*## / {printf "  make %-12s %s\n", $$1, $$2}' $(MAKEFILE_LIST)

$(TOOLS)/bin/uv:
	@echo "首次使用：用 pip 安装 uv $(UV_VERSION) 到 $(TOOLS)/ (bootstrap uv)"
	@$(PYTHON) -m venv $(TOOLS)
	$(TOOLS)/bin/python -m pip install --disable-pip-version-check --progress-bar on "uv==$(UV_VERSION)"

$(STAMP): pyproject.toml uv.lock | $(UV)
	@echo "安装锁定的依赖到 $(VENV) (uv sync --frozen，预编译字节码)…"
	@# a venv made by plain `python -m venv` carries seed packages uv would keep: start afresh
	@grep -qs '^uv = ' $(VENV)/pyvenv.cfg || rm -rf $(VENV)
	$(UV) sync --frozen --compile-bytecode --extra dev --python $(PYTHON)
	@# the project itself is installed editable: compile its byte code too
	$(BIN)/python -m compileall -q qyzj_analytics
	@rm -f $(LAB_STAMP)
	@touch $(STAMP)

$(LAB_STAMP): $(STAMP)
	$(UV) sync --frozen --compile-bytecode --extra dev --extra lab --python $(PYTHON)
	@touch $(LAB_STAMP)

install: $(STAMP) ## 创建 .venv 并按 uv.lock 安装本项目及开发依赖 (idempotent)

lock: | $(UV) ## 更新锁文件 uv.lock 与导出的 requirements.lock.txt（pip/conda 用）
	$(UV) lock --python $(PYTHON)
	$(UV) export $(EXPORT_FLAGS) -o requirements.lock.txt

test: install ## 运行全部测试 (pytest)
	$(BIN)/python -m pytest

lint: install ## 代码检查 (ruff format --check + ruff check + import-linter 分层检查)
	$(BIN)/ruff format --check .
	$(BIN)/ruff check .
	$(BIN)/lint-imports --no-cache

format: install ## 自动格式化 (ruff)
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

sample: install ## 生成示例导出到 data/sample/raw
	$(BIN)/qyzj sample --out $(SAMPLE_RAW)

report: install ## 生成最近一个已结束季度的报告（data/raw 为空时使用示例数据）
	@raw="$(RAW)"; \
	if [ -z "$$(find "$$raw" -type f ! -name '.gitkeep' ! -name 'README.md' 2>/dev/null | head -1)" ]; then \
		echo "data/raw 中没有导出文件，使用示例数据 (sample data) $(SAMPLE_RAW)"; \
		[ -d $(SAMPLE_RAW) ] || $(BIN)/qyzj sample --out $(SAMPLE_RAW); \
		raw=$(SAMPLE_RAW); \
	fi; \
	$(BIN)/qyzj report --quarter $(QUARTER) --raw "$$raw"

lab: $(LAB_STAMP) ## 启动 JupyterLab 打开 notebooks/（首次会安装锁定版本的 jupyterlab）
	@[ -d $(SAMPLE_RAW) ] || $(BIN)/qyzj sample --out $(SAMPLE_RAW)  # the notebooks' default raw_dir
	$(BIN)/python -m jupyter lab $(LAB_FLAGS) notebooks/

bench: install ## 运行性能基准 (bench/)
	$(BIN)/python bench/run.py

clean-venv: ## 删除 .venv 和 .tools
	rm -rf $(VENV) $(TOOLS)
