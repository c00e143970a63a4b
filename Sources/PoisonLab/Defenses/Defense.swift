/// A defense plug-in (`defense.name`): transforms, filters or aggregates
/// client updates (federated runs), or sanitises training data (centralized).
///
/// No defense is registered in this version: the federated aggregators and
/// the centralized sanitizers arrive with federated simulation. A scenario
/// naming one is rejected with the list of what is available.
public protocol Defense: Plugin {}
