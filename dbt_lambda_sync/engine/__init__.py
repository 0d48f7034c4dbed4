"""The invocation engine: clock, rate limiter, retry policy, worker pool and invoker.

It knows no warehouse and no dbt (an import-linter contract checks it).
"""
