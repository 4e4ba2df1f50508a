"""Scenarios the demo and the end-to-end tests set up on the twin, with ordinary boto3 calls."""

from __future__ import annotations

import json

ACCOUNT = "123456789012"
TRAINING_BUCKET = "ml-training-data-prod"
EXEMPT_BUCKET = "public-model-cards"
OWNER_ID = "75aa57f09aa0c8caeab4f8c24e99d10f8e7faeebf76c078efc7c6caea54ba06a"

TRAINING_POLICY = {
    "Version": "2012-10-17",
    "Statement": [
        {  # the exposure: anyone can download the training data
            "Sid": "PublicReadForSharing",
            "Effect": "Allow",
            "Principal": "*",
            "Action": "s3:GetObject",
            "Resource": f"arn:aws:s3:::{TRAINING_BUCKET}/*",
        },
        {  # unrelated and legitimate: the training role reads the data
            "Sid": "TrainingJobsRead",
            "Effect": "Allow",
            "Principal": {"AWS": f"arn:aws:iam::{ACCOUNT}:role/SageMakerTrainingRole"},
            "Action": ["s3:GetObject", "s3:ListBucket"],
            "Resource": [f"arn:aws:s3:::{TRAINING_BUCKET}", f"arn:aws:s3:::{TRAINING_BUCKET}/*"],
        },
        {  # "*" but only through the VPC endpoint: not public, must stay
            "Sid": "VpcEndpointOnly",
            "Effect": "Allow",
            "Principal": "*",
            "Action": "s3:GetObject",
            "Resource": f"arn:aws:s3:::{TRAINING_BUCKET}/*",
            "Condition": {"StringEquals": {"aws:SourceVpce": "vpce-0a1b2c3d4e5f67890"}},
        },
    ],
}
ALL_USERS = "http://acs.amazonaws.com/groups/global/AllUsers"


def public_training_bucket(s3, name: str = TRAINING_BUCKET) -> None:
    """A training-data bucket made public three ways: policy, ACL and no Block Public Access."""
    s3.create_bucket(Bucket=name)
    s3.put_bucket_tagging(Bucket=name, Tagging={"TagSet": [{"Key": "data-classification", "Value": "training"}]})
    s3.put_object(Bucket=name, Key="datasets/2026-11/part-0000.parquet", Body=b"PAR1 training rows")
    policy = json.loads(json.dumps(TRAINING_POLICY).replace(TRAINING_BUCKET, name))
    s3.put_bucket_policy(Bucket=name, Policy=json.dumps(policy))
    acl = s3.get_bucket_acl(Bucket=name)
    s3.put_bucket_acl(
        Bucket=name,
        AccessControlPolicy={
            "Owner": acl["Owner"],
            "Grants": acl["Grants"] + [{"Grantee": {"Type": "Group", "URI": ALL_USERS}, "Permission": "READ"}],
        },
    )


def exempt_website_bucket(s3, tag_key: str = "warden:exempt", name: str = EXEMPT_BUCKET) -> None:
    """A bucket that is public on purpose (a static site of model cards) and tagged exempt."""
    s3.create_bucket(Bucket=name)
    s3.put_bucket_tagging(Bucket=name, Tagging={"TagSet": [{"Key": tag_key, "Value": "public model cards website"}]})
    s3.put_bucket_policy(
        Bucket=name,
        Policy=json.dumps(
            {
                "Version": "2012-10-17",
                "Statement": [
                    {"Sid": "WebsiteRead", "Effect": "Allow", "Principal": "*", "Action": "s3:GetObject", "Resource": f"arn:aws:s3:::{name}/*"}
                ],
            }
        ),
    )


def account_block_off(s3control, account: str = ACCOUNT) -> None:
    s3control.put_public_access_block(
        AccountId=account,
        PublicAccessBlockConfiguration={s: False for s in ("BlockPublicAcls", "IgnorePublicAcls", "BlockPublicPolicy", "RestrictPublicBuckets")},
    )
