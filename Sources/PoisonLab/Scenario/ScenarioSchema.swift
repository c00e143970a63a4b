/// The scenario format as a JSON Schema (draft 2020-12), generated from the
/// registry and the same ``ParameterSpec``s validation uses, for editors'
/// autocompletion and for validating scenarios outside poisonlab.
///
/// The schema checks keys, types, ranges, enumerations and defaults; rules that span blocks (a
/// `cnn` needs images, federated-only keys, defense chain order, `f` against clients per round,
/// an audit against the model and data) are left to `poisonlab validate`.
public enum ScenarioSchema {
  /// The schema document.
  /// - Returns: the JSON Schema.
  public static func document() -> JSONValue {
    var definitions: [JSONMember] = []
    for family in [PluginFamily.datasets, .models, .partitions, .attacks, .defenses, .audits] {
      let variants = Registry.descriptors(family).map { plugin($0, family: family) }
      definitions.append(
        JSONMember(family.singular, .object([JSONMember("oneOf", .array(variants))])))
    }
    let ref = { (name: String) in JSONValue.object([JSONMember("$ref", .string("#/$defs/\(name)"))])
    }
    let oneOrMany = { (name: String) in
      JSONValue.object([
        JSONMember(
          "anyOf",
          .array([
            ref(name),
            .object([JSONMember("type", .string("array")), JSONMember("items", ref(name))]),
          ]))
      ])
    }
    var properties: [JSONMember] = []
    for spec in ScenarioLoader.topLevel {
      defer {
        if let last = properties.popLast() {
          properties.append(JSONMember(last.key, nullable(last.value, spec)))
        }
      }
      switch spec.key {
      case "dataset", "model", "audit":
        properties.append(JSONMember(spec.key, described(ref(spec.key), spec)))
      case "attack", "defense":
        properties.append(JSONMember(spec.key, described(oneOrMany(spec.key), spec)))
      case "federation":
        var keys = object(ScenarioLoader.federationKeys.filter { $0.key != "partition" })
        if case .object(var members) = keys,
          let i = members.firstIndex(where: { $0.key == "properties" }),
          case .object(var props) = members[i].value
        {
          props.append(
            JSONMember(
              "partition",
              .object([
                JSONMember(
                  "anyOf",
                  .array([ref("partition"), .object([JSONMember("type", .string("null"))])]))
              ])))
          members[i].value = .object(props)
          keys = .object(members)
        }
        properties.append(JSONMember(spec.key, described(keys, spec)))
      case "name":
        // Kebab-case, the rule ScenarioLoader.nameProblem applies.
        guard case .object(let members) = type(spec) else { continue }
        properties.append(
          JSONMember(
            spec.key,
            .object(members + [JSONMember("pattern", .string(ScenarioLoader.namePattern))])))
      case "expect": properties.append(JSONMember(spec.key, described(expect, spec)))
      case "sweep": properties.append(JSONMember(spec.key, described(sweep, spec)))
      default: properties.append(JSONMember(spec.key, type(spec)))
      }
    }
    return .object([
      JSONMember("$schema", .string("https://json-schema.org/draft/2020-12/schema")),
      JSONMember("$id", .string("urn:poisonlab:scenario:1")),
      JSONMember("title", .string("poisonlab scenario")),
      JSONMember("type", .string("object")),
      JSONMember("properties", .object(properties)),
      JSONMember(
        "required", .array(ScenarioLoader.topLevel.filter(\.isRequired).map { .string($0.key) })),
      JSONMember("additionalProperties", .bool(false)),
      JSONMember("$defs", .object(definitions)),
    ])
  }

  private static var expect: JSONValue {
    .object([
      JSONMember("type", .string("object")),
      JSONMember(
        "propertyNames",
        .object([JSONMember("enum", .array(MetricRecord.metricNames.map { .string($0) }))])),
      JSONMember(
        "additionalProperties",
        .object([
          JSONMember(
            "anyOf",
            .array([
              .object([
                JSONMember("type", .string("object")),
                JSONMember(
                  "properties",
                  .object([
                    JSONMember(
                      "min",
                      .object([JSONMember("type", .array([.string("number"), .string("null")]))])),
                    JSONMember(
                      "max",
                      .object([JSONMember("type", .array([.string("number"), .string("null")]))])),
                  ])),
                JSONMember("minProperties", .number(1)),
                JSONMember("additionalProperties", .bool(false)),
              ]),
              .object([JSONMember("type", .string("null"))]),
            ]))
        ])),
    ])
  }

  private static var sweep: JSONValue {
    .object([
      JSONMember("type", .string("object")),
      JSONMember(
        "additionalProperties",
        .object([
          JSONMember(
            "anyOf",
            .array([
              .object([JSONMember("type", .string("array")), JSONMember("minItems", .number(1))]),
              .object([JSONMember("type", .string("null"))]),
            ]))
        ])),
    ])
  }

  /// An optional key's schema also allows null: a key set to null is left
  /// out (the contract: null removes an optional block).
  private static func nullable(_ value: JSONValue, _ spec: ParameterSpec) -> JSONValue {
    guard !spec.isRequired else { return value }
    var members = [
      JSONMember("anyOf", .array([value, .object([JSONMember("type", .string("null"))])]))
    ]
    // Editors show the description of the key, not of its branches.
    if let description = value["description"] {
      members.append(JSONMember("description", description))
    }
    return .object(members)
  }

  private static func described(_ value: JSONValue, _ spec: ParameterSpec) -> JSONValue {
    guard case .object(var members) = value else { return value }
    members.append(JSONMember("description", .string(doc(spec))))
    return .object(members)
  }

  private static func doc(_ spec: ParameterSpec) -> String {
    switch spec.mode {
    case .any: return spec.doc
    case .federated: return spec.doc + " (federated runs only)"
    case .centralized: return spec.doc + " (centralized runs only)"
    }
  }

  private static func plugin(_ d: PluginDescriptor, family: PluginFamily) -> JSONValue {
    var properties = [JSONMember("name", .object([JSONMember("const", .string(d.name))]))]
    for spec in d.parameters {
      properties.append(JSONMember(spec.key, nullable(type(spec), spec)))
    }
    var members = [
      JSONMember("title", .string(d.name)),
      JSONMember(
        "description", .string(d.summary + (d.reference.map { ". Reference: \($0)" } ?? ""))),
      JSONMember("type", .string("object")),
      JSONMember("properties", .object(properties)),
      JSONMember(
        "required",
        .array([.string("name")] + d.parameters.filter(\.isRequired).map { .string($0.key) })),
      JSONMember("additionalProperties", .bool(false)),
    ]
    if family == .defenses, let role = Registry.role(family, d.name) {
      members.append(JSONMember("$comment", .string(role)))
    }
    return .object(members)
  }

  private static func type(_ spec: ParameterSpec) -> JSONValue {
    guard case .object(var members) = schema(of: spec.type) else { return schema(of: spec.type) }
    members.append(JSONMember("description", .string(doc(spec))))
    if let value = spec.defaultValue { members.append(JSONMember("default", value)) }
    return .object(members)
  }

  private static func object(_ specs: [ParameterSpec]) -> JSONValue {
    .object([
      JSONMember("type", .string("object")),
      JSONMember("properties", .object(specs.map { JSONMember($0.key, nullable(type($0), $0)) })),
      JSONMember("required", .array(specs.filter(\.isRequired).map { .string($0.key) })),
      JSONMember("additionalProperties", .bool(false)),
    ])
  }

  /// The JSON Schema of a value type.
  static func schema(of type: ValueType) -> JSONValue {
    switch type {
    case .integer(let lo, let hi):
      var m = [JSONMember("type", .string("integer"))]
      if let lo { m.append(JSONMember("minimum", .number(Double(lo)))) }
      if let hi { m.append(JSONMember("maximum", .number(Double(hi)))) }
      return .object(m)
    case .oddInteger(let lo, let hi):
      return .object([
        JSONMember("type", .string("integer")),
        JSONMember("minimum", .number(Double(lo))), JSONMember("maximum", .number(Double(hi))),
        JSONMember("not", .object([JSONMember("multipleOf", .number(2))])),
      ])
    case .number(let lo, let hi, let minOpen, let maxOpen):
      var m = [JSONMember("type", .string("number"))]
      if let lo { m.append(JSONMember(minOpen ? "exclusiveMinimum" : "minimum", .number(lo))) }
      if let hi { m.append(JSONMember(maxOpen ? "exclusiveMaximum" : "maximum", .number(hi))) }
      return .object(m)
    case .boolean: return .object([JSONMember("type", .string("boolean"))])
    case .string: return .object([JSONMember("type", .string("string"))])
    case .choice(let options):
      return .object([
        JSONMember("type", .string("string")),
        JSONMember("enum", .array(options.map { .string($0) })),
      ])
    case .array(let element, let lo, let hi):
      var m = [JSONMember("type", .string("array")), JSONMember("items", schema(of: element))]
      if lo > 0 { m.append(JSONMember("minItems", .number(Double(lo)))) }
      if let hi { m.append(JSONMember("maxItems", .number(Double(hi)))) }
      return .object(m)
    case .object(let specs): return object(specs)
    case .anyObject: return .object([JSONMember("type", .string("object"))])
    case .either(let types): return .object([JSONMember("anyOf", .array(types.map(schema(of:))))])
    }
  }
}
