"""Entry point of the aksml component provider (``PulumiPlugin.yaml`` beside this file).

``pulumi package add <repo>/provider`` runs this to serve ``aksml:index:AksWebservice`` (and
the other components in ``aksml.package.COMPONENTS``) to programs in Pulumi's other languages.
"""

from pulumi.provider.experimental import component_provider_host

from aksml.package import COMPONENTS, PACKAGE_NAME, package_version

if __name__ == "__main__":
    component_provider_host(
        components=list(COMPONENTS), name=PACKAGE_NAME, version=package_version()
    )
