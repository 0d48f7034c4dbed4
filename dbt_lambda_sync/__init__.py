"""dbt-lambda-sync: deliver a dbt model's changes to an AWS Lambda function."""

__version__ = "0.1.0"
