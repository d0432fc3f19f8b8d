"""template.yaml's feature flags block: the flags document (its one copy) against arena.flags.Flag and Powertools'
schema, the names the functions get, the read permission on every function's role, the deployment by stage."""

from __future__ import annotations

import json
from typing import Any

import pytest
from arena.flags import Flag
from aws_lambda_powertools.utilities.feature_flags import SchemaValidator

from local.template import LocalContext, functions, load_template, resolve, resources_of_type


@pytest.fixture(scope="module")
def template() -> dict[str, Any]:
    return load_template()


def _resource(template: dict[str, Any], logical_id: str, resource_type: str) -> dict[str, Any]:
    resource = template["Resources"][logical_id]
    assert resource["Type"] == resource_type
    return resource["Properties"]


def flags_document(template: dict[str, Any]) -> dict[str, Any]:
    versions = resources_of_type(template, "AWS::AppConfig::HostedConfigurationVersion")
    assert list(versions) == ["FeatureFlagsVersion"]
    return json.loads(versions["FeatureFlagsVersion"]["Content"])


def test_the_document_has_exactly_the_flags_the_code_knows(template: dict[str, Any]) -> None:
    """Given the template's flags document When compared with arena.flags.Flag Then the same names, both ways."""
    assert set(flags_document(template)) == {flag.value for flag in Flag}


# Flags on in dev only (a rule on the evaluation context's `stage`): the feature is visible locally and in dev.
ON_IN_DEV = {Flag.EVENT_CHAT.value, Flag.SHARE_CARDS.value, Flag.PUBLIC_PROFILES.value}


def test_every_flag_ships_off_and_the_document_validates(template: dict[str, Any]) -> None:
    """Given the document When validated by Powertools Then valid, and every flag is off by default with no rule,
    except those on in dev, whose one rule matches the dev stage only."""
    document = flags_document(template)
    SchemaValidator(document).validate()
    assert {name: flag for name, flag in document.items() if name not in ON_IN_DEV} == {
        flag.value: {"default": False} for flag in Flag if flag.value not in ON_IN_DEV
    }
    for name in ON_IN_DEV:
        assert document[name]["default"] is False
        (rule,) = document[name]["rules"].values()
        assert rule == {"when_match": True, "conditions": [{"action": "EQUALS", "key": "stage", "value": "dev"}]}


def test_the_profile_is_a_hosted_freeform_json_configuration(template: dict[str, Any]) -> None:
    """Given the configuration profile and version When read Then hosted, AWS.Freeform, JSON, of this application."""
    profile = _resource(template, "FeatureFlagsProfile", "AWS::AppConfig::ConfigurationProfile")
    assert (profile["LocationUri"], profile["Type"]) == ("hosted", "AWS.Freeform")
    version = _resource(template, "FeatureFlagsVersion", "AWS::AppConfig::HostedConfigurationVersion")
    assert version["ContentType"] == "application/json"
    assert version["ConfigurationProfileId"] == {"Fn::GetAtt": ["FeatureFlagsProfile", "ConfigurationProfileId"]}
    environment = _resource(template, "FeatureFlagsEnvironment", "AWS::AppConfig::Environment")
    assert environment["Name"] == {"Ref": "Stage"}


def test_every_function_is_told_where_the_flags_are(template: dict[str, Any]) -> None:
    """Given every function When its environment is read Then it names the application, environment and profile."""
    expected = {
        "FEATURE_FLAGS_APPLICATION": {"Fn::GetAtt": ["FeatureFlagsApplication", "ApplicationId"]},
        "FEATURE_FLAGS_ENVIRONMENT": {"Fn::GetAtt": ["FeatureFlagsEnvironment", "EnvironmentId"]},
        "FEATURE_FLAGS_PROFILE": {"Fn::GetAtt": ["FeatureFlagsProfile", "ConfigurationProfileId"]},
    }
    for function in functions(template):
        assert {name: function.environment.get(name) for name in expected} == expected, function.logical_id


def test_every_function_role_may_read_the_flags(template: dict[str, Any]) -> None:
    """Given the read policy When its roles are listed Then every function's SAM-generated role, and only those:
    a function added without its role here fails this test. A nested stack's function cannot be listed (its role
    is in another stack): it attaches the policy, passed down as a parameter, through its own Policies."""
    policy = _resource(template, "FeatureFlagsReadPolicy", "AWS::IAM::ManagedPolicy")
    (statement,) = policy["PolicyDocument"]["Statement"]
    assert statement["Effect"] == "Allow"
    assert sorted(statement["Action"]) == ["appconfig:GetLatestConfiguration", "appconfig:StartConfigurationSession"]
    resource = statement["Resource"]["Fn::Sub"]
    assert resource.endswith(
        "application/${FeatureFlagsApplication.ApplicationId}/environment/${FeatureFlagsEnvironment.EnvironmentId}"
        "/configuration/${FeatureFlagsProfile.ConfigurationProfileId}"
    )
    function_ids = resources_of_type(template, "AWS::Serverless::Function")
    own_roles = [logical_id for logical_id, props in function_ids.items() if "Role" in props]
    assert not own_roles, f"functions with their own Role need the policy in ManagedPolicyArns: {own_roles}"
    attaching = {
        logical_id
        for logical_id, props in function_ids.items()
        if {"Ref": "FeatureFlagsReadPolicy"} in (props.get("Policies") or [])
    }
    nested = {logical_id for stack in template.get("NestedStacks", {}).values() for logical_id in stack["Resources"]}
    assert attaching == nested & set(function_ids)
    listed = [role["Ref"] for role in policy["Roles"]]
    assert sorted(listed) == sorted(f"{logical_id}Role" for logical_id in set(function_ids) - attaching)


@pytest.mark.parametrize(
    ("stage", "duration", "growth", "bake"),
    [("dev", 0, 100, 0), ("prod", 10, 20, 10)],
)
def test_deployment_is_gradual_in_prod_and_at_once_in_dev(
    template: dict[str, Any], stage: str, duration: int, growth: int, bake: int
) -> None:
    """Given a stage When the deployment strategy is resolved Then all at once in dev, in steps and baked in prod."""
    strategy = _resource(template, "FeatureFlagsDeploymentStrategy", "AWS::AppConfig::DeploymentStrategy")
    resolved = resolve(strategy, LocalContext(template=template, parameters={"Stage": stage}))
    assert resolved["DeploymentDurationInMinutes"] == duration
    assert resolved["GrowthFactor"] == growth
    assert resolved["FinalBakeTimeInMinutes"] == bake
    assert resolved["GrowthType"] == "LINEAR"
    deployment = _resource(template, "FeatureFlagsDeployment", "AWS::AppConfig::Deployment")
    assert deployment["ConfigurationVersion"] == {"Fn::GetAtt": ["FeatureFlagsVersion", "VersionNumber"]}
    assert deployment["DeploymentStrategyId"] == {"Fn::GetAtt": ["FeatureFlagsDeploymentStrategy", "Id"]}
    assert deployment["EnvironmentId"] == {"Fn::GetAtt": ["FeatureFlagsEnvironment", "EnvironmentId"]}
