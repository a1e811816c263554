# qyzj-analytics — `make` alone lists the targets. Every target that needs Python creates .venv
# and installs the package from pyproject.toml first (idempotent: re-installs when it changes).
SHELL := /bin/bash
.DEFAULT_GOAL := help

PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
RAW ?= data/raw
SAMPLE_RAW := data/sample/raw
QUARTER ?= auto

.PHONY: help install test lint format report sample lab bench clean-venv

help: ## 显示所有命令 (list targets)
	@awk 'BEGIN {FS = ":.*## "} /^[a-zA-Z_-]+:.*## / {printf "  make %-12s %s\n", $$1, $$2}' $(MAKEFILE_LIST)

$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e ".[dev]"
	@touch $(STAMP)

install: $(STAMP) ## 创建 .venv 并安装本项目及开发依赖 (idempotent)

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

lab: install ## 启动 JupyterLab 打开 notebooks/（首次会安装 jupyterlab）
	@$(BIN)/python -c "import jupyterlab" 2>/dev/null || $(BIN)/python -m pip install --quiet -e ".[dev,lab]"
	@[ -d $(SAMPLE_RAW) ] || $(BIN)/qyzj sample --out $(SAMPLE_RAW)  # the notebooks' default raw_dir
	$(BIN)/python -m jupyter lab notebooks/

bench: install ## 运行性能基准 (bench/)
	$(BIN)/python bench/run.py

clean-venv: ## 删除 .venv
	rm -rf $(VENV)
