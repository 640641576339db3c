//! The SAM template's safe defaults: read as text (the parameters block is plain YAML).

/// The `Default:` line of template parameter `name`.
fn default_of(template: &str, name: &str) -> String {
    let block = template
        .split(&format!("\n  {name}:\n"))
        .nth(1)
        .unwrap_or_else(|| panic!("parameter {name} not in template.yaml"));
    let line = block
        .lines()
        .take_while(|l| l.starts_with("    ") || l.is_empty())
        .find(|l| l.trim_start().starts_with("Default:"))
        .unwrap_or_else(|| panic!("{name} has no default"));
    line.trim_start()["Default:".len()..]
        .trim()
        .trim_matches('"')
        .to_string()
}

fn template() -> String {
    std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/template.yaml")).unwrap()
}

#[test]
fn no_host_is_allowed_for_unbound_secrets_by_default() {
    assert_eq!(default_of(&template(), "AllowedJiraHosts"), "");
}

#[test]
fn by_default_the_function_reads_only_this_accounts_secrets_in_this_region() {
    let t = template();
    assert_eq!(default_of(&t, "JiraSecretArnPattern"), "");
    assert!(
        t.contains(r#"!Sub "arn:${AWS::Partition}:secretsmanager:${AWS::Region}:${AWS::AccountId}:secret:jira/*""#),
        "the default secret pattern is scoped to the stack's account and region"
    );
    assert!(
        !t.contains("secretsmanager:*:*"),
        "no wildcard account or region"
    );
}

#[test]
fn the_ledger_policy_names_its_table_only() {
    let t = template();
    let ledger = t.split("Sid: IdempotencyLedger").nth(1).unwrap();
    let statement: String = ledger.lines().take(8).collect::<Vec<_>>().join("\n");
    assert!(
        statement.contains("Resource: !GetAtt IdempotencyTable.Arn"),
        "{statement}"
    );
    assert!(
        !statement.contains("dynamodb:*") && !statement.contains("Scan"),
        "{statement}"
    );
}

#[test]
fn messages_can_be_held_in_the_alert_queue_only() {
    let t = template();
    let hold = t.split("Sid: HoldAlertMessages").nth(1).unwrap();
    let statement: String = hold.lines().take(4).collect::<Vec<_>>().join("\n");
    assert!(
        statement.contains("Action: sqs:ChangeMessageVisibility")
            && statement.contains("Resource: !GetAtt AlertQueue.Arn"),
        "{statement}"
    );
    assert_eq!(t.matches("sqs:ChangeMessageVisibility").count(), 1);
}

#[test]
fn a_private_jira_can_be_reached_when_asked() {
    let t = template();
    // Outside any VPC unless both subnets and security groups are given.
    assert_eq!(default_of(&t, "SubnetIds"), "");
    assert_eq!(default_of(&t, "SecurityGroupIds"), "");
    let vpc = t
        .split("VpcConfig: !If")
        .nth(1)
        .expect("a conditional VpcConfig");
    assert!(vpc.trim_start().starts_with("- InVpc"), "{}", &vpc[..80]);
    assert!(t.contains("JIRA_CA_BUNDLE: !Ref JiraCaBundle"));
    assert_eq!(default_of(&t, "JiraCaBundle"), "");
}

#[test]
fn the_dead_letter_queue_raises_an_alarm() {
    let t = template();
    let alarm = t
        .split("DeadLetterAlarm:\n")
        .nth(1)
        .expect("an alarm on the DLQ");
    assert!(alarm.contains("ApproximateNumberOfMessagesVisible"));
    assert!(alarm.contains("!GetAtt DeadLetterQueue.QueueName"));
    assert_eq!(default_of(&t, "AlarmTopicArn"), "");
}
