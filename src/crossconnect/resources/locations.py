"""Azure regions (name, display name, geography) used for resource locations."""

LOCATIONS = [
    ("eastus", "East US", "US"),
    ("eastus2", "East US 2", "US"),
    ("westus", "West US", "US"),
    ("westus2", "West US 2", "US"),
    ("centralus", "Central US", "US"),
    ("northcentralus", "North Central US", "US"),
    ("southcentralus", "South Central US", "US"),
    ("westcentralus", "West Central US", "US"),
    ("eastus2euap", "East US 2 EUAP", "US"),
    ("northeurope", "North Europe", "Europe"),
    ("westeurope", "West Europe", "Europe"),
    ("uksouth", "UK South", "Europe"),
    ("ukwest", "UK West", "Europe"),
    ("germanywestcentral", "Germany West Central", "Europe"),
    ("francecentral", "France Central", "Europe"),
    ("eastasia", "East Asia", "Asia Pacific"),
    ("southeastasia", "Southeast Asia", "Asia Pacific"),
    ("japaneast", "Japan East", "Asia Pacific"),
    ("australiaeast", "Australia East", "Asia Pacific"),
    ("brazilsouth", "Brazil South", "South America"),
    ("canadacentral", "Canada Central", "Canada"),
    ("centralindia", "Central India", "Asia Pacific"),
]
LOCATION_NAMES = {name for name, _, _ in LOCATIONS}
