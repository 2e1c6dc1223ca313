// AksWebservice from TypeScript. Set up once with:
//   npm install && pulumi package add ../../provider
// which generates the local SDK under sdks/aksml and adds "@pulumi/aksml" to package.json.
import * as path from "path";
import * as aksml from "@pulumi/aksml";

const iris = new aksml.AksWebservice("iris", {
    // Azure ML v1 deploy_configuration settings, camelCased
    cpuCores: 0.5,
    memoryGb: 1,
    autoscaleEnabled: true,
    autoscaleMaxReplicas: 4,
    authEnabled: true,
    tags: { team: "ml-platform" },
    // beyond v1
    exposure: "load_balancer",
    // file paths are read by the provider process: make them absolute
    entryScript: path.join(__dirname, "score.py"),
});

export const scoringUri = iris.scoringUri;
export const swaggerUri = iris.swaggerUri;
export const primaryKey = iris.primaryKey;
